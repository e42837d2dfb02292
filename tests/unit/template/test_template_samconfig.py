"""samconfig.toml: each environment deploys as documented and passes the template's own checks."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest
from sam_template import REPO_ROOT, load_template, rule_failures

SAMCONFIG = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text())
ENVIRONMENTS = ["default", "prod"]


def overrides(environment: str, command: str = "deploy") -> dict[str, str]:
    pairs = SAMCONFIG[environment][command]["parameters"]["parameter_overrides"]
    return dict(pair.split("=", 1) for pair in pairs)


def test_samconfig_default_environment_is_ready_for_guided_deploy() -> None:
    default = SAMCONFIG["default"]

    assert SAMCONFIG["version"] == 0.1
    assert default["global"]["parameters"]["stack_name"]
    assert default["validate"]["parameters"]["lint"] is True
    assert default["build"]["parameters"] == {"cached": True, "parallel": True}
    assert default["deploy"]["parameters"]["capabilities"] == "CAPABILITY_IAM"
    assert default["deploy"]["parameters"]["resolve_s3"] is True
    assert default["deploy"]["parameters"]["confirm_changeset"] is True


def test_samconfig_prod_environment_runs_on_demand_with_bigger_tasks() -> None:
    prod, default = overrides("prod"), overrides("default")

    assert prod["CapacityProvider"] == "FARGATE"
    assert int(prod["TaskMemory"]) > int(default["TaskMemory"])
    assert (
        SAMCONFIG["prod"]["global"]["parameters"]["stack_name"]
        != SAMCONFIG["default"]["global"]["parameters"]["stack_name"]
    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_samconfig_overrides_name_only_template_parameters(environment: str) -> None:
    assert set(overrides(environment)) <= set(load_template()["Parameters"])


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_samconfig_overrides_pass_allowed_patterns_values_and_rules(environment: str) -> None:
    parameters: dict[str, Any] = load_template()["Parameters"]
    values = {name: str(spec.get("Default", "")) for name, spec in parameters.items()} | overrides(environment)

    for name, value in overrides(environment).items():
        if "AllowedPattern" in parameters[name]:
            assert re.fullmatch(parameters[name]["AllowedPattern"], value), name
        if "AllowedValues" in parameters[name]:
            assert value in [str(v) for v in parameters[name]["AllowedValues"]], name
    assert rule_failures(values) == []


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_samconfig_never_holds_a_token_value(environment: str) -> None:
    for command in ("deploy", "local_invoke"):
        if command in SAMCONFIG[environment]:
            assert "DataHubAccessToken" not in overrides(environment, command)
