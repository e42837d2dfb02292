"""What the local ECS agent decides before it starts a container: environment, secrets, exit codes."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from local_stack.agent import container_definition, container_environment, exit_code_of, secret_id_and_key
from local_stack.scheduler import rate_seconds

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf"
CONTAINER = {
    "name": "runner",
    "essential": True,
    "environment": [{"name": "DATAHUB_GMS_URL", "value": "http://gms/gms"}, {"name": "KEEP", "value": "1"}],
    "secrets": [{"name": "DATAHUB_GMS_TOKEN", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:t-AbCdEf"}],
}


def test_container_environment_applies_overrides_of_its_container_then_secrets() -> None:
    overrides: dict[str, Any] = {
        "containerOverrides": [
            {"name": "runner", "environment": [{"name": "DATAHUB_GMS_URL", "value": "http://other/gms"}]},
            {"name": "sidecar", "environment": [{"name": "NOT_MINE", "value": "x"}]},
        ]
    }

    env = container_environment(CONTAINER, overrides, {"DATAHUB_GMS_TOKEN": "canary-token"})

    assert env == {"DATAHUB_GMS_URL": "http://other/gms", "KEEP": "1", "DATAHUB_GMS_TOKEN": "canary-token"}


def test_container_definition_picks_the_named_or_the_essential_container() -> None:
    definition = {"containerDefinitions": [{"name": "helper", "essential": False}, CONTAINER]}

    assert container_definition(definition)["name"] == "runner"
    assert container_definition(definition, "helper")["name"] == "helper"
    with pytest.raises(ValueError, match="no container 'nope'"):
        container_definition(definition, "nope")


@pytest.mark.parametrize(
    ("value_from", "expected"),
    [
        (
            "arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf",
            ("arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf", None),
        ),
        (
            f"{SECRET_ARN}:password::",
            (SECRET_ARN, "password"),
        ),
        ("datahub-executor/DB", ("datahub-executor/DB", None)),
    ],
)
def test_secret_value_from_splits_the_secret_id_and_json_key(value_from: str, expected: tuple[str, Any]) -> None:
    assert secret_id_and_key(value_from) == expected


@pytest.mark.parametrize(("returncode", "exit_code"), [(0, 0), (1, 1), (-signal.SIGKILL, 137), (-signal.SIGTERM, 143)])
def test_exit_code_reports_a_signal_as_docker_does(returncode: int, exit_code: int) -> None:
    assert exit_code_of(returncode) == exit_code


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(10 minutes)", 600.0), ("rate(1 minute)", 60.0), ("rate(2 hours)", 7200.0), ("cron(0 * * * ? *)", None)],
)
def test_rate_seconds_reads_eventbridge_rate_expressions(expression: str, seconds: float | None) -> None:
    assert rate_seconds(expression) == seconds
