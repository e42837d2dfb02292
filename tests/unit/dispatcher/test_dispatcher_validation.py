"""validate_run: every rule, as a table; problems are named, never silently fixed."""

from __future__ import annotations

import pytest
from dispatcher.validation import validate_run
from dispatcher_unit_helpers import make_run_command, make_settings
from executor_common.errors import PermanentError

SQLITE = {"source": {"type": "sqlalchemy", "config": {"platform": "sqlite"}}}


def _problem(**kwargs) -> str:
    with pytest.raises(PermanentError) as caught:
        validate_run(make_run_command(**kwargs), make_settings())
    return caught.value.reason


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"recipe": "[1, 2]"}, "recipe: the recipe must be a JSON object"),
        ({"recipe": "{nope"}, "recipe: the recipe is not valid JSON"),
        ({"recipe": {"source": {"type": " "}}}, "the recipe's source has no 'type'"),
        ({"recipe": {"source": "postgres"}}, "the recipe has no 'source' section"),
        ({"version": "1.7"}, None),
        ({"version": "1.7.0.17rc1"}, None),
        ({"version": "0.15.0.5"}, None),
        ({"version": "latest"}, None),
        ({"version": "1.7.0 && curl"}, "is not a DataHub CLI version"),
        ({"env": {"AWS_REGION": "x"}}, None),
        (
            {"env": {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "x"}},
            "extra env var AWS_CONTAINER_CREDENTIALS_FULL_URI: reserved",
        ),
        ({"env": {"aws_secret_access_key": "x"}}, "extra env var aws_secret_access_key: reserved"),
        ({"env": {"ECS_AGENT_URI": "x"}}, "extra env var ECS_AGENT_URI: reserved"),
        ({"env": {"EXECUTOR_ID": "x"}}, "extra env var EXECUTOR_ID: reserved"),
        ({"env": {"EXECUTOR_RUN_SPEC": "{}"}}, "extra env var EXECUTOR_RUN_SPEC: reserved"),
        ({"env": {"DATAHUB_GMS_URL": "x"}}, "extra env var DATAHUB_GMS_URL: reserved"),
        ({"env": {"HOME": "/"}}, "extra env var HOME: reserved"),
        ({"env": {"PYTHONPATH": "/x"}}, "extra env var PYTHONPATH: reserved"),
        ({"env": {"LD_LIBRARY_PATH": "/x"}}, "extra env var LD_LIBRARY_PATH: reserved"),
        ({"env": {"1ABC": "x"}}, "'1ABC': not a valid environment variable name"),
        ({"env": {"A B": "x"}}, "'A B': not a valid environment variable name"),
        ({"env": {"PG_PASSWORD": "x"}}, "collides with the secret ${PG_PASSWORD}"),
        (
            {"recipe": {"source": {"type": "x", "config": {"k": "${AWS_SECRET_ACCESS_KEY}"}}}},
            "reserved by the executor",
        ),
        ({"recipe": {"source": {"type": "x", "config": {"k": "${EXECUTOR_TASK_CPU}"}}}}, "reserved by the executor"),
        ({"env": {"EXECUTOR_TASK_CPU": "2048", "EXECUTOR_TASK_MEMORY": "2048"}}, "use one of 4096, 5120"),
        ({"env": {"EXECUTOR_TASK_EPHEMERAL_STORAGE_GIB": "10"}}, "ephemeral storage 10 GiB is outside"),
        ({"env": {"EXECUTOR_RUN_TIMEOUT_SECONDS": "0"}}, "EXECUTOR_RUN_TIMEOUT_SECONDS: '0' must be"),
        ({"env": {"EXECUTOR_RUN_TIMEOUT_SECONDS": "99999999"}}, "from 1 to 1209600"),
    ],
)
def test_validate_run_rule_table(kwargs, expected):
    if expected is None:
        validate_run(make_run_command(**kwargs), make_settings())
    else:
        assert expected in _problem(**kwargs)


def test_validate_run_defaults_when_no_per_source_settings():
    run = validate_run(make_run_command(SQLITE), make_settings())
    assert (run.size.cpu, run.size.memory, run.size.ephemeral_storage_gib) == ("1024", "4096", 21)
    assert run.run_timeout_seconds == 86400
    assert run.secret_names == [] and run.source_type == "sqlalchemy"


def test_validate_run_per_source_settings_are_consumed_not_forwarded():
    env = {
        "EXECUTOR_TASK_CPU": "4096",
        "EXECUTOR_TASK_MEMORY": "16384",
        "EXECUTOR_TASK_EPHEMERAL_STORAGE_GIB": "100",
        "EXECUTOR_RUN_TIMEOUT_SECONDS": "3600",
        "TZ": "UTC",
    }
    run = validate_run(make_run_command(SQLITE, env=env), make_settings())
    assert (run.size.cpu, run.size.memory, run.size.ephemeral_storage_gib) == ("4096", "16384", 100)
    assert run.run_timeout_seconds == 3600
    assert run.child_env == {"DATAHUB_TELEMETRY_ENABLED": "false", "TZ": "UTC"}


@pytest.mark.parametrize(
    ("env", "size"),
    [
        ({"EXECUTOR_TASK_CPU": "2048"}, ("2048", "4096")),  # default memory fits
        ({"EXECUTOR_TASK_CPU": "8192"}, ("8192", "16384")),  # smallest memory for 8 vCPU
        ({"EXECUTOR_TASK_MEMORY": "8192"}, ("1024", "8192")),  # default CPU fits
        ({"EXECUTOR_TASK_MEMORY": "30720"}, ("4096", "30720")),  # smallest CPU for 30 GiB
    ],
)
def test_validate_run_one_of_cpu_or_memory_fills_the_other_compatibly(env, size):
    run = validate_run(make_run_command(SQLITE, env=env), make_settings())
    assert (run.size.cpu, run.size.memory) == size


def test_validate_run_request_env_wins_over_stack_run_env_vars():
    run = validate_run(make_run_command(SQLITE, env={"DATAHUB_TELEMETRY_ENABLED": "true"}), make_settings())
    assert run.child_env["DATAHUB_TELEMETRY_ENABLED"] == "true"


def test_validate_run_reports_all_problems_and_never_echoes_values():
    reason = _problem(env={"AWS_SESSION_TOKEN": "canary-value-123", "PATH": "canary-value-456"}, version="x")
    assert reason.count("\n- ") == 3
    assert "canary-value" not in reason


def test_validate_run_normalizes_sizes_to_plain_integers():
    env = {"EXECUTOR_TASK_CPU": " 02048", "EXECUTOR_TASK_MEMORY": "4096 ", "EXECUTOR_TASK_EPHEMERAL_STORAGE_GIB": "050"}
    run = validate_run(make_run_command(SQLITE, env=env), make_settings())
    assert (run.size.cpu, run.size.memory, run.size.ephemeral_storage_gib) == ("2048", "4096", 50)
