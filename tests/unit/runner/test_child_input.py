"""What the child receives: secrets only through the envelope, a clean environment, the right argv."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from executor_common.runspec import RunSpec
from executor_runner.child_input import (
    MissingSecretError,
    build_argv,
    build_child_env,
    build_envelope,
    collect_secrets,
)

RECIPE = {"source": {"type": "postgres", "config": {"password": "${PG_PASSWORD}"}}, "pipeline_name": "pg-prod"}


def _spec(recipe=RECIPE, **fields) -> RunSpec:
    return RunSpec(
        execution_request_urn="urn:li:dataHubExecutionRequest:abc",
        execution_id="abc",
        task=fields.pop("task", "RUN_INGEST"),
        recipe=json.dumps(recipe),
        **fields,
    )


def test_collect_secrets_attached_and_present_returns_values():
    spec = _spec(secret_names=["PG_PASSWORD"])

    assert collect_secrets(spec, {"PG_PASSWORD": "s3cret"}) == {"PG_PASSWORD": "s3cret"}


@pytest.mark.parametrize(
    ("secret_names", "env"),
    [
        (["PG_PASSWORD"], {}),  # attached but not injected
        (["PG_PASSWORD"], {"PG_PASSWORD": ""}),  # injected empty
        ([], {"PG_PASSWORD": "from-somewhere-else"}),  # not an attached secret: the env does not count
    ],
)
def test_collect_secrets_missing_or_empty_fails_naming_it(secret_names, env):
    with pytest.raises(MissingSecretError) as raised:
        collect_secrets(_spec(secret_names=secret_names), env)

    assert "${PG_PASSWORD}" in raised.value.reason
    assert "from-somewhere-else" not in raised.value.reason


def test_build_envelope_sets_run_id_keeps_pipeline_name_and_leaves_references():
    envelope = json.loads(build_envelope(_spec(), {"PG_PASSWORD": "s3cret"}))

    recipe = json.loads(envelope["__recipe_yaml__"])
    assert recipe["run_id"] == "abc"
    assert recipe["pipeline_name"] == "pg-prod"
    assert recipe["source"]["config"]["password"] == "${PG_PASSWORD}"
    assert envelope["__secrets__"] == {"PG_PASSWORD": "s3cret"}


def test_build_child_env_holds_only_what_ingestion_needs():
    runner_env = {
        "PATH": "/usr/bin",
        "HOME": "/home/runner",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/creds",
        "AWS_SECRET_ACCESS_KEY": "runner-key",
        "ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/x",
        "EXECUTOR_RUN_SPEC": "{}",
        "EXECUTOR_CHILD_ENV_NAMES": "SHOP_REGION,EXECUTOR_TASK_MEMORY,PG_PASSWORD,RUNNER_X",
        "SHOP_REGION": "eu-west-1",
        "EXECUTOR_TASK_MEMORY": "8192",
        "PG_PASSWORD": "s3cret",
        "RUNNER_X": "1",
    }
    spec = _spec(secret_names=["PG_PASSWORD"])

    env = build_child_env(runner_env, spec, gms_url="http://gms/gms", gms_token="tok", tmp_dir=Path("/tmp/run"))

    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/home/runner",
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp/run",
        "DATAHUB_GMS_URL": "http://gms/gms",
        "DATAHUB_GMS_TOKEN": "tok",
        "DATAHUB_TELEMETRY_ENABLED": "false",
        "SHOP_REGION": "eu-west-1",
    }


def test_build_child_env_forward_task_role_adds_container_credentials_only():
    runner_env = {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/creds", "AWS_REGION": "eu-west-1", "AWS_X": "no"}

    env = build_child_env(runner_env, _spec(), gms_url="u", gms_token=None, tmp_dir=Path("/t"), forward_task_role=True)

    assert env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] == "/v2/creds"
    assert env["AWS_REGION"] == "eu-west-1"
    assert "AWS_X" not in env and "DATAHUB_GMS_TOKEN" not in env


def test_build_argv_run_ingest_and_test_connection():
    report = Path("/run/report.json")

    ingest = build_argv("RUN_INGEST", ["datahub"], report)
    test = build_argv("TEST_CONNECTION", ["datahub"], report, debug=True)

    assert ingest == ["datahub", "ingest", "run", "-c", "-", "--report-to", "/run/report.json", "--no-spinner"]
    assert test[:2] == ["datahub", "--debug"] and test[-1] == "--test-source-connection"


def test_build_argv_override_substitutes_report_file():
    argv = build_argv("RUN_INGEST", ["datahub"], Path("/r.json"), override=["python", "fake.py", "{report_file}"])

    assert argv == ["python", "fake.py", "/r.json"]


def test_envelope_is_accepted_by_the_datahub_cli_loader(monkeypatch):
    # The real acryl-datahub config loader resolves ${NAME} from the envelope, never from os.environ.
    import io
    import sys

    from datahub.configuration.config_loader import load_config_file

    monkeypatch.setenv("PG_PASSWORD", "ambient-value")
    monkeypatch.setattr(sys, "stdin", io.StringIO(build_envelope(_spec(), {"PG_PASSWORD": "from-envelope"})))

    config = load_config_file("-", allow_stdin=True, resolve_env_vars=True)

    assert config["source"]["config"]["password"] == "from-envelope"
    assert config["run_id"] == "abc"
