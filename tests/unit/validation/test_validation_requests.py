"""validate_run against what the DataHub UI sends and what a hostile request tries (issues 10 and 11).

GIVEN a RUN_INGEST request shaped as DataHub builds it, WHEN it is validated, THEN each
version, env var and recipe reference is accepted, ignored with a note, or refused by name.
"""

from __future__ import annotations

import json

import pytest
from dispatcher.validation import validate_run
from executor_common.env_policy import RESERVED, EnvVerdict, classify_env_name
from executor_common.errors import PermanentError

from tests.unit.dispatcher.dispatcher_unit_helpers import make_run_command, make_settings

SQLITE = {"source": {"type": "sqlalchemy", "config": {"platform": "sqlite"}}}


def _refusal(recipe=SQLITE, **kwargs) -> str:
    with pytest.raises(PermanentError) as caught:
        validate_run(make_run_command(recipe, **kwargs), make_settings())
    return caught.value.reason


# -- CLI versions (issue 11 item 5) ------------------------------------------------------------
@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("v1.6.0", "1.6.0"),  # the default CLI version of real deployments
        ("V1.7.0.17", "1.7.0.17"),
        ("1.7.0.17", "1.7.0.17"),
        ("1.2.0rc3", "1.2.0rc3"),
        ("1.0.0.dev1", "1.0.0.dev1"),
        ("latest", "latest"),
        ("bundled", "bundled"),
        ("native", "native"),
        ("Native", "native"),
        ("default", "default"),
    ],
)
def test_validate_run_cli_versions_datahub_accepts_are_normalized_for_the_runner(version, expected):
    run = validate_run(make_run_command(SQLITE, version=version), make_settings())
    assert run.args.version == expected


@pytest.mark.parametrize(
    "version",
    [
        "1.7.0.17\n",
        "v1.6.0\n",
        "v1",
        " 1.7.0",
        "1.7.0 && curl x",
        "vv1.0",
        "1.0" + "a" * 60 + "!",
        "9" * 5000,
        "latest\n",
    ],
)
def test_validate_run_version_with_trailing_newline_or_garbage_is_refused(version):
    assert "is not a DataHub CLI version" in _refusal(version=version)


# -- extra env vars (issue 11 item 6, issue 10 item 2) -----------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "RUNNER_CHILD_COMMAND",
        "runner_child_command",
        "Runner_Allow_Runtime_Installs",
        "RUNNER_PIP_INDEX_URL",
        "RUNNER_FORWARD_TASK_ROLE",
        "RUN_BUCKET",
        "POWERTOOLS_SERVICE_NAME",
        "DATAHUB_GMS_HOST",
        "DATAHUB_GMS_PORT",
        "DATAHUB_GMS_PROTOCOL",
        "datahub_gms_token",
        "DATAHUB_AUTH_TYPE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "ECS_CONTAINER_METADATA_URI_V4",
        "PIP_INDEX_URL",
        "pip_extra_index_url",
        "UV_INDEX_URL",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "NO_PROXY",
        "no_proxy",
        "PYTHONPATH",
        "PYTHONSTARTUP",
        "PYTHONHOME",
        "PYTHONWARNINGS",
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "PATH",
        "path",
        "EXECUTOR_RUN_SPEC",
        "EXECUTOR_ID",
    ],
)
def test_validate_run_env_var_that_changes_the_executor_is_a_failure_naming_it(name):
    reason = _refusal(env={name: "canary-env-value"})
    assert f"extra env var {name}: reserved (" in reason
    assert "canary-env-value" not in reason


@pytest.mark.parametrize("name", ["PATH\n", "RUNNER_X\n", "A B", "1ABC", "A-B", ""])
def test_validate_run_env_var_name_with_newline_or_bad_characters_is_refused(name):
    assert "not a valid environment variable name" in _refusal(env={name: "x"})


def test_validate_run_ordinary_aws_and_tool_variables_reach_the_child():
    env = {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/ingest",
        "AWS_PROFILE": "ingest",
        "TZ": "UTC",
        "PYTHONUNBUFFERED": "1",
        "REQUESTS_CA_BUNDLE": "/etc/ssl/corp.pem",
    }
    run = validate_run(make_run_command(SQLITE, env=env), make_settings())
    assert {k: run.child_env[k] for k in env} == env
    assert run.notes == []


def test_validate_run_other_executors_settings_are_ignored_with_a_note():
    env = {"EXECUTOR_TASK_MEMORY_LIMIT": "8Gi", "EXECUTOR_TASK_WEIGHT": "2", "TZ": "UTC"}
    run = validate_run(make_run_command(SQLITE, env=env), make_settings())
    assert "EXECUTOR_TASK_MEMORY_LIMIT" not in run.child_env and "EXECUTOR_TASK_WEIGHT" not in run.child_env
    assert run.child_env["TZ"] == "UTC"
    assert len(run.notes) == 2
    assert "EXECUTOR_TASK_MEMORY_LIMIT ignored" in run.notes[0] and "hosted executor" in run.notes[0]
    assert "EXECUTOR_TASK_WEIGHT ignored" in run.notes[1] and "EXECUTOR_TASK_MEMORY" in run.notes[1]


def test_env_policy_every_reserved_row_refuses_in_any_case():
    for row in RESERVED:
        name = row.pattern.rstrip("*") + ("X" if row.pattern.endswith("*") else "")
        for spelling in (name, name.lower()):
            decision = classify_env_name(spelling)
            assert decision.verdict is EnvVerdict.REFUSE or spelling.upper().startswith("EXECUTOR_"), spelling
            assert row.reason in decision.reason or decision.verdict is not EnvVerdict.REFUSE


# -- references in the recipe (issue 10 item 3) ------------------------------------------------
def _sink_recipe(token: str) -> dict:
    return {**SQLITE, "sink": {"type": "datahub-rest", "config": {"server": "http://elsewhere", "token": token}}}


@pytest.mark.parametrize(
    ("spelling", "named"),
    [
        ("$DATAHUB_GMS_TOKEN", "$DATAHUB_GMS_TOKEN"),
        ("${DATAHUB_GMS_TOKEN}", "$DATAHUB_GMS_TOKEN"),
        ("${DATAHUB_GMS_TOKEN:-x}", "$DATAHUB_GMS_TOKEN"),
        ("${DATAHUB_GMS_TOKEN-x}", "$DATAHUB_GMS_TOKEN"),
        ("${DATAHUB_GMS_TOKEN:+x}", "$DATAHUB_GMS_TOKEN"),
        ("${#DATAHUB_GMS_TOKEN}", "$DATAHUB_GMS_TOKEN"),
        ("$datahub_gms_token", "$datahub_gms_token"),
        ("Bearer $DATAHUB_GMS_TOKEN", "$DATAHUB_GMS_TOKEN"),
        ("${UNSET:-$DATAHUB_GMS_TOKEN}", "$DATAHUB_GMS_TOKEN"),
        ("${UNSET:-${DATAHUB_GMS_TOKEN}}", "$DATAHUB_GMS_TOKEN"),
        ("$$DATAHUB_GMS_TOKEN", "$DATAHUB_GMS_TOKEN"),
        ("\\$DATAHUB_GMS_TOKEN", "$DATAHUB_GMS_TOKEN"),
        ("$DATAHUB_GMS_URL", "$DATAHUB_GMS_URL"),
        ("$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
        ("${AWS_CONTAINER_AUTHORIZATION_TOKEN}", "$AWS_CONTAINER_AUTHORIZATION_TOKEN"),
        ("$ECS_CONTAINER_METADATA_URI_V4", "$ECS_CONTAINER_METADATA_URI_V4"),
        ("$RUNNER_PIP_INDEX_URL", "$RUNNER_PIP_INDEX_URL"),
        ("$EXECUTOR_RUN_SPEC", "$EXECUTOR_RUN_SPEC"),
    ],
)
def test_validate_run_any_spelling_of_a_reserved_reference_is_a_failure_naming_it(spelling, named):
    reason = _refusal(_sink_recipe(spelling))
    assert f"refers to {named}: reserved" in reason


def test_validate_run_reference_hidden_behind_a_json_escape_is_found():
    # GIVEN the `$` written as \u0024 in the recipe's JSON (the CLI sees a `$` after decoding)
    recipe = json.dumps(_sink_recipe("PLACEHOLDER")).replace("PLACEHOLDER", "\\u0024DATAHUB_GMS_TOKEN")
    assert "refers to $DATAHUB_GMS_TOKEN: reserved" in _refusal(recipe)


def test_validate_run_indirect_reference_is_refused_whatever_it_names():
    assert "indirect reference ${!TARGET}" in _refusal(_sink_recipe("${!TARGET}"))


def test_validate_run_harmless_references_pass():
    recipe = {**SQLITE, "source": {"type": "file", "config": {"path": "$HOME/data/${TZ:-x}.json"}}}
    run = validate_run(make_run_command(recipe), make_settings())
    assert run.source_type == "file"


def test_validate_run_deeply_nested_recipe_is_a_failure_not_a_crash():
    recipe = '{"source": {"type": "x", "config": ' + "[" * 5000 + "]" * 5000 + "}}"
    assert "nested too deeply" in _refusal(recipe)


# -- extra pip requirements and plugins (issue 10 item 13, issue 11 item 4) -------------------
def _with_pips(requirements=None, plugins=None):
    command = make_run_command(SQLITE)
    args = dict(command.aspect.args)
    if requirements is not None:
        args["extra_pip_requirements"] = json.dumps(requirements)
    if plugins is not None:
        args["extra_pip_plugins"] = json.dumps(plugins)
    return command.model_copy(update={"aspect": command.aspect.model_copy(update={"args": args})})


@pytest.mark.parametrize(
    "entry",
    [
        "--extra-index-url=http://foreign.example/simple",
        "--index-url http://foreign.example/simple",
        "-r /etc/requirements.txt",
        "-e /tmp/pkg",
        " -e git+https://foreign.example/x.git",
        "pkg @ http://foreign.example/pkg.whl",
        "pkg @ file:///tmp/pkg.whl",
        "./local/path",
        "/abs/path/pkg.whl",
        "http://foreign.example/pkg.whl",
        "pkg --index-url=http://foreign.example",
        "${DATAHUB_GMS_TOKEN}",
        "x" * 300,
    ],
)
def test_validate_run_pip_entry_that_is_not_a_requirement_specifier_is_refused(entry):
    with pytest.raises(PermanentError) as caught:
        validate_run(_with_pips(requirements=[entry]), make_settings())
    assert "extra pip requirement" in caught.value.reason


@pytest.mark.parametrize("entry", ["pyyaml", "pyyaml>=6", "acryl-datahub[kafka]==1.7.0", "x; python_version>'3'"])
def test_validate_run_plain_requirement_specifiers_pass(entry):
    run = validate_run(_with_pips(requirements=[entry]), make_settings())
    assert run.args.extra_pip_requirements == [entry]


def test_validate_run_extra_datahub_plugins_are_extras_names():
    run = validate_run(_with_pips(plugins=["datahub-kafka", "great-expectations"]), make_settings())
    assert run.args.extra_pip_plugins == ["datahub-kafka", "great-expectations"]
    for bad in ["kafka]==0 ; x", "a,b", "-e", "kafka\n", "x" * 200, "foo @ http://x"]:
        with pytest.raises(PermanentError, match="extra DataHub plugin"):
            validate_run(_with_pips(plugins=[bad]), make_settings())
