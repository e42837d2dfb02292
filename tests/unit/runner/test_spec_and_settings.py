"""Reading the run spec and the runner's settings."""

from __future__ import annotations

import pytest
from executor_common.errors import PermanentError
from executor_common.runspec import RunSpec
from executor_runner.settings import RunnerSettings
from executor_runner.spec import load_run_spec, parse_s3_uri
from pydantic import ValidationError

SPEC = RunSpec(
    execution_request_urn="urn:li:dataHubExecutionRequest:abc",
    execution_id="abc",
    task="RUN_INGEST",
    recipe='{"source": {"type": "file", "config": {}}}',
)


def test_load_run_spec_inline():
    assert load_run_spec({"EXECUTOR_RUN_SPEC": SPEC.model_dump_json()}) == SPEC


def test_load_run_spec_from_s3_uri_uses_reader():
    reads = []

    def reader(bucket: str, key: str) -> str:
        reads.append((bucket, key))
        return SPEC.model_dump_json()

    spec = load_run_spec({"EXECUTOR_RUN_SPEC_URI": "s3://runs-bucket/runs/abc/spec.json"}, reader)

    assert spec == SPEC
    assert reads == [("runs-bucket", "runs/abc/spec.json")]


def test_load_run_spec_timeout_override_from_env():
    env = {"EXECUTOR_RUN_SPEC": SPEC.model_dump_json(), "EXECUTOR_RUN_TIMEOUT_SECONDS": "3600"}

    assert load_run_spec(env).run_timeout_seconds == 3600


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "neither EXECUTOR_RUN_SPEC nor EXECUTOR_RUN_SPEC_URI"),
        ({"EXECUTOR_RUN_SPEC": "{not json"}, "the run spec is invalid"),
        ({"EXECUTOR_RUN_SPEC": '{"execution_id": "x"}'}, "the run spec is invalid"),
        ({"EXECUTOR_RUN_SPEC_URI": "https://bucket/key"}, "s3://bucket/key"),
        ({"EXECUTOR_RUN_SPEC": SPEC.model_dump_json(), "EXECUTOR_RUN_TIMEOUT_SECONDS": "soon"}, "number of seconds"),
    ],
)
def test_load_run_spec_bad_input_is_permanent_error(env, message):
    with pytest.raises(PermanentError, match=message):
        load_run_spec(env)


def test_parse_s3_uri_splits_bucket_and_key():
    assert parse_s3_uri("s3://b/runs/x/spec.json") == ("b", "runs/x/spec.json")


def test_settings_defaults(monkeypatch):
    monkeypatch.setenv("DATAHUB_GMS_URL", "http://gms:8080/gms/")
    monkeypatch.setenv("DATAHUB_GMS_TOKEN", "canary-token-91f2")

    settings = RunnerSettings()

    assert settings.gms_url == "http://gms:8080/gms"
    assert settings.token == "canary-token-91f2"
    assert "canary-token-91f2" not in repr(settings)
    assert settings.progress_interval_seconds == 5
    assert settings.stale_log_seconds == 120
    assert settings.kill_grace_seconds == 30
    assert settings.terminal_write_deadline_seconds == 900
    assert settings.allow_runtime_installs is True


def test_settings_child_command_is_json_argv(monkeypatch):
    monkeypatch.setenv("DATAHUB_GMS_URL", "http://gms/gms")
    monkeypatch.setenv("RUNNER_CHILD_COMMAND", '["python", "fake.py"]')

    assert RunnerSettings().child_command == ["python", "fake.py"]


def test_settings_kill_grace_not_below_stop_timeout_is_refused(monkeypatch):
    monkeypatch.setenv("DATAHUB_GMS_URL", "http://gms/gms")
    monkeypatch.setenv("RUNNER_KILL_GRACE_SECONDS", "120")

    with pytest.raises(ValidationError, match="stopTimeout"):
        RunnerSettings()


def test_settings_without_gms_url_is_refused(monkeypatch):
    monkeypatch.delenv("DATAHUB_GMS_URL", raising=False)

    with pytest.raises(ValidationError):
        RunnerSettings()
