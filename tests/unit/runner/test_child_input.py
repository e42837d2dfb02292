"""What the child receives: secrets only through the envelope, a clean environment, the right argv."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from executor_common.errors import PermanentError
from executor_common.runspec import RunSpec
from executor_runner.child_input import (
    GMS_TOKEN_REF,
    MissingSecretError,
    build_argv,
    build_child_env,
    build_envelope,
    collect_secrets,
    dropped_env_names,
)
from executor_runner.settings import RunnerSettings

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


def _envelope(spec: RunSpec, secrets=None, token="executor-token-5f1e", gms="http://gms:8080") -> dict:
    secrets = {"PG_PASSWORD": "s3cret"} if secrets is None else secrets
    return json.loads(build_envelope(spec, secrets, gms_url=gms, gms_token=token))


def _pg(recipe=RECIPE) -> RunSpec:
    return _spec(recipe, secret_names=["PG_PASSWORD"])


def test_build_envelope_sets_run_id_keeps_pipeline_name_and_leaves_references():
    envelope = _envelope(_pg(), {"PG_PASSWORD": "s3cret"})

    recipe = json.loads(envelope["__recipe_yaml__"])
    assert recipe["run_id"] == "abc"
    assert recipe["pipeline_name"] == "pg-prod"
    assert recipe["source"]["config"]["password"] == "${PG_PASSWORD}"
    assert envelope["__secrets__"]["PG_PASSWORD"] == "s3cret"


def test_build_envelope_without_sink_makes_the_default_sink_explicit_with_the_token_by_reference():
    envelope = _envelope(_pg())

    recipe = json.loads(envelope["__recipe_yaml__"])
    assert recipe["sink"] == {
        "type": "datahub-rest",
        "config": {"server": "http://gms:8080", "token": "${" + GMS_TOKEN_REF + "}"},
    }
    assert recipe["datahub_api"] == {"server": "http://gms:8080", "token": "${" + GMS_TOKEN_REF + "}"}
    assert envelope["__secrets__"][GMS_TOKEN_REF] == "executor-token-5f1e"
    assert "executor-token-5f1e" not in envelope["__recipe_yaml__"]


@pytest.mark.parametrize(
    ("server", "gms"),
    [("http://GMS:8080", "http://gms:8080"), ("http://gms:8080/", "http://gms:8080"), ("http://gms:80", "http://gms")],
)
def test_build_envelope_rest_sink_to_our_gms_gets_our_token(server, gms):
    recipe = {**RECIPE, "sink": {"type": "datahub-rest", "config": {"server": server, "token": "$DATAHUB_GMS_TOKEN"}}}

    sink = json.loads(_envelope(_pg(recipe), gms=gms)["__recipe_yaml__"])["sink"]

    assert sink["config"]["token"] == "${" + GMS_TOKEN_REF + "}"


@pytest.mark.parametrize(
    "token_spelling",
    ["$DATAHUB_GMS_TOKEN", "${DATAHUB_GMS_TOKEN}", "${DATAHUB_GMS_TOKEN:-x}", "Bearer $DATAHUB_GMS_TOKEN"],
)
def test_build_envelope_foreign_server_with_our_token_is_refused(token_spelling):
    recipe = {
        **RECIPE,
        "sink": {"type": "datahub-rest", "config": {"server": "http://elsewhere", "token": token_spelling}},
    }

    with pytest.raises(PermanentError, match="only goes to its own GMS"):
        _envelope(_pg(recipe))


def test_build_envelope_our_sink_spelled_with_datahub_gms_token_is_not_a_missing_secret():
    recipe = {
        **RECIPE,
        "sink": {"type": "datahub-rest", "config": {"server": "http://gms:8080", "token": "${DATAHUB_GMS_TOKEN}"}},
    }

    envelope = _envelope(_pg(recipe))

    assert set(envelope["__secrets__"]) == {"PG_PASSWORD", GMS_TOKEN_REF}


def test_build_envelope_foreign_server_never_gets_the_token_reference():
    recipe = {**RECIPE, "sink": {"type": "datahub-rest", "config": {"server": "http://elsewhere", "token": "own"}}}

    envelope = _envelope(_pg(recipe))

    sink = json.loads(envelope["__recipe_yaml__"])["sink"]
    assert sink["config"] == {"server": "http://elsewhere", "token": "own"}
    assert "datahub_api" not in json.loads(envelope["__recipe_yaml__"])


def test_build_envelope_recipe_naming_the_internal_token_reference_is_refused():
    recipe = {**RECIPE, "sink": {"type": "console", "config": {"x": "${" + GMS_TOKEN_REF + "}"}}}

    with pytest.raises(PermanentError, match="reserved"):
        _envelope(_pg(recipe))


def _settings(**env: str) -> RunnerSettings:
    return RunnerSettings.model_validate({"DATAHUB_GMS_URL": "http://gms/gms", **env})


def test_build_child_env_holds_only_what_ingestion_needs():
    spec = _spec(
        secret_names=["PG_PASSWORD"],
        extra_env_vars={
            "SHOP_REGION": "eu-west-1",
            "EXECUTOR_TASK_MEMORY": "8192",
            "PG_PASSWORD": "s3cret",
            "RUNNER_X": "1",
            "runner_child_command": "x",
            "DATAHUB_GMS_TOKEN": "mine",
            "datahub_gms_url": "http://elsewhere",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/other",
        },
    )
    settings = _settings(PATH="/usr/bin", HOME="/home/runner", DATAHUB_GMS_TOKEN="tok")

    env = build_child_env(spec, settings, tmp_dir=Path("/tmp/run"))

    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/home/runner",
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp/run",
        "DATAHUB_GMS_URL": "http://gms/gms",
        "DATAHUB_TELEMETRY_ENABLED": "false",
        "SHOP_REGION": "eu-west-1",
    }


def test_build_child_env_forward_task_role_adds_container_credentials_only():
    settings = _settings(
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI="/v2/creds", AWS_REGION="eu-west-1", RUNNER_FORWARD_TASK_ROLE="true"
    )

    env = build_child_env(_spec(), settings, tmp_dir=Path("/t"))

    assert env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] == "/v2/creds"
    assert env["AWS_REGION"] == "eu-west-1"
    assert "DATAHUB_GMS_TOKEN" not in env


def test_build_argv_run_ingest_and_test_connection():
    report = Path("/run/report.json")

    ingest = build_argv("RUN_INGEST", ["datahub"], report)
    test = build_argv("TEST_CONNECTION", ["datahub"], report, debug=True)

    assert ingest == ["datahub", "ingest", "run", "-c", "-", "--report-to", "/run/report.json", "--no-spinner"]
    assert test[:2] == ["datahub", "--debug"] and test[-1] == "--test-source-connection"


def test_envelope_is_accepted_by_the_datahub_cli_loader(monkeypatch):
    # The real acryl-datahub config loader resolves ${NAME} from the envelope, never from os.environ.
    import io
    import sys

    from datahub.configuration.config_loader import load_config_file

    monkeypatch.setenv("PG_PASSWORD", "ambient-value")
    envelope = build_envelope(_pg(), {"PG_PASSWORD": "from-envelope"}, gms_url="http://gms:8080", gms_token="t0k")
    monkeypatch.setattr(sys, "stdin", io.StringIO(envelope))

    config = load_config_file("-", allow_stdin=True, resolve_env_vars=True)

    assert config["source"]["config"]["password"] == "from-envelope"
    assert config["run_id"] == "abc"
    assert config["sink"]["config"] == {"server": "http://gms:8080", "token": "t0k"}


def test_child_input_datahub_store_secrets_are_envelope_secrets_and_never_child_env(tmp_path):
    # GIVEN a spec with one attached secret and one read from DataHub's store, and an extra env var of that name
    spec = RunSpec(
        execution_request_urn="urn:li:dataHubExecutionRequest:x",
        execution_id="x",
        task="RUN_INGEST",
        recipe='{"source": {"type": "file", "config": {"a": "${SM_ONE}", "b": "${DH_ONE}"}}}',
        secret_names=["SM_ONE"],
        datahub_secret_names=["DH_ONE"],
        extra_env_vars={"DH_ONE": "shadow"},
    )

    envelope = json.loads(
        build_envelope(spec, {"SM_ONE": "v1", "DH_ONE": "v2"}, gms_url="http://gms:8080", gms_token=None)
    )

    assert envelope["__secrets__"] == {"SM_ONE": "v1", "DH_ONE": "v2"}
    assert dropped_env_names(spec) == ["DH_ONE"]  # a variable named like the secret never reaches the child
