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
    assert load_run_spec(SPEC.model_dump_json(), None) == SPEC


def test_load_run_spec_from_s3_uri_uses_reader():
    reads = []

    def reader(bucket: str, key: str) -> str:
        reads.append((bucket, key))
        return SPEC.model_dump_json()

    spec = load_run_spec(None, "s3://runs-bucket/runs/abc/spec.json", reader)

    assert spec == SPEC
    assert reads == [("runs-bucket", "runs/abc/spec.json")]


def test_settings_read_run_spec_and_urn_and_the_spec_is_the_one_run_timeout_source(monkeypatch):
    # GIVEN the spec's timeout and a different EXECUTOR_RUN_TIMEOUT_SECONDS (kept for the reconciler's sweeper)
    monkeypatch.setenv("DATAHUB_GMS_URL", "http://gms/gms")
    monkeypatch.setenv("EXECUTOR_RUN_SPEC", SPEC.model_copy(update={"run_timeout_seconds": 7200}).model_dump_json())
    monkeypatch.setenv("EXECUTOR_EXECUTION_REQUEST_URN", SPEC.execution_request_urn)
    monkeypatch.setenv("EXECUTOR_RUN_TIMEOUT_SECONDS", "60")

    settings = RunnerSettings()

    # THEN the settings carry the spec and the URN, and the run timeout is the spec's
    assert settings.execution_request_urn == SPEC.execution_request_urn
    assert load_run_spec(settings.run_spec, settings.run_spec_uri).run_timeout_seconds == 7200


@pytest.mark.parametrize(
    ("inline", "uri", "message"),
    [
        (None, None, "neither EXECUTOR_RUN_SPEC nor EXECUTOR_RUN_SPEC_URI"),
        ("{not json", None, "the run spec is invalid"),
        ('{"execution_id": "x"}', None, "the run spec is invalid"),
        (None, "https://bucket/key", "s3://bucket/key"),
    ],
)
def test_load_run_spec_bad_input_is_permanent_error(inline, uri, message):
    with pytest.raises(PermanentError, match=message):
        load_run_spec(inline, uri)


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


def test_settings_have_no_test_switch_and_read_only_exact_names(monkeypatch):
    # GIVEN what a request could once set: a child command, and settings spelled in lowercase or by field name
    monkeypatch.setenv("DATAHUB_GMS_URL", "http://gms/gms")
    monkeypatch.setenv("RUNNER_CHILD_COMMAND", '["sh", "-c", "id"]')
    monkeypatch.setenv("runner_allow_runtime_installs", "false")
    monkeypatch.setenv("runner_kill_grace_seconds", "1")
    monkeypatch.setenv("kill_grace_seconds", "2")
    monkeypatch.setenv("gms_url", "http://elsewhere")

    settings = RunnerSettings()

    # THEN none of them is a setting
    assert "child_command" not in RunnerSettings.model_fields
    assert not any("child" in name for name in RunnerSettings.model_fields)
    assert settings.allow_runtime_installs is True
    assert settings.kill_grace_seconds == 30
    assert settings.gms_url == "http://gms/gms"


def test_settings_kill_grace_not_below_stop_timeout_is_refused(monkeypatch):
    monkeypatch.setenv("DATAHUB_GMS_URL", "http://gms/gms")
    monkeypatch.setenv("RUNNER_KILL_GRACE_SECONDS", "120")

    with pytest.raises(ValidationError, match="stopTimeout"):
        RunnerSettings()


def test_settings_without_gms_url_is_refused(monkeypatch):
    monkeypatch.delenv("DATAHUB_GMS_URL", raising=False)

    with pytest.raises(ValidationError):
        RunnerSettings()
