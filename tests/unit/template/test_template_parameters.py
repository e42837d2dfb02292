"""Parameters and the Rules section: what a deploy accepts and what it refuses before creating anything."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest
from sam_template import load_template, rule_failures

# AWS's table of valid Fargate sizes, written out independently of the template.
FARGATE_MEMORY_BY_CPU: dict[str, Sequence[int]] = {
    "256": (512, 1024, 2048),
    "512": range(1024, 4097, 1024),
    "1024": range(2048, 8193, 1024),
    "2048": range(4096, 16385, 1024),
    "4096": range(8192, 30721, 1024),
    "8192": range(16384, 61441, 4096),
    "16384": range(32768, 122881, 8192),
}
FARGATE_PAIRS = {(cpu, str(memory)) for cpu, memories in FARGATE_MEMORY_BY_CPU.items() for memory in memories}


def valid_parameters(**overrides: str) -> dict[str, str]:
    return {
        "TaskCpu": "1024",
        "TaskMemory": "4096",
        "DataHubAccessToken": "",
        "ExistingDataHubAccessTokenSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:t-AbCdEf",
    } | overrides


def allowed_pattern(name: str) -> re.Pattern[str]:
    return re.compile(load_template()["Parameters"][name]["AllowedPattern"])


@pytest.mark.parametrize(
    "url",
    [
        "https://acme.acryl.io/gms",
        "http://datahub-gms.internal:8080/gms",
        "https://datahub.example.com/api/gms",
        "http://datahub-gms:8080",  # open-source GMS, addressed directly
        "https://gms",
    ],
)
def test_datahub_base_url_http_base_url_is_accepted(url: str) -> None:
    assert allowed_pattern("DataHubBaseUrl").fullmatch(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://acme.acryl.io",
        "https://acme.acryl.io/",
        "https://acme.acryl.io/gms/",
        "https://acme.acryl.io/api/graphql",
        "acme.acryl.io/gms",
        "http://datahub-gms:8080/",
        "http://datahub-gms:8080?x=1",
        "",
    ],
)
def test_datahub_base_url_cloud_without_gms_or_not_a_base_url_is_rejected(url: str) -> None:
    assert not allowed_pattern("DataHubBaseUrl").fullmatch(url)


def test_fargate_rules_every_allowed_cpu_memory_combination_accepted_only_when_valid() -> None:
    """GIVEN every TaskCpu x TaskMemory the parameters allow THEN the rules pass exactly AWS's valid pairs."""
    parameters = load_template()["Parameters"]
    combinations = [  # CloudFormation hands the Rules every value as a string
        (str(c), str(m))
        for c in parameters["TaskCpu"]["AllowedValues"]
        for m in parameters["TaskMemory"]["AllowedValues"]
    ]

    accepted = {
        pair for pair in combinations if not rule_failures(valid_parameters(TaskCpu=pair[0], TaskMemory=pair[1]))
    }

    assert accepted == FARGATE_PAIRS


def test_fargate_rules_allowed_values_cover_every_valid_pair() -> None:
    parameters = load_template()["Parameters"]

    assert {cpu for cpu, _ in FARGATE_PAIRS} == set(parameters["TaskCpu"]["AllowedValues"])
    assert {memory for _, memory in FARGATE_PAIRS} == {str(m) for m in parameters["TaskMemory"]["AllowedValues"]}


def test_fargate_rules_invalid_pair_is_refused_with_a_readable_reason() -> None:
    assert rule_failures(valid_parameters(TaskCpu="256", TaskMemory="4096")) == [
        "With TaskCpu 256, TaskMemory must be 512, 1024 or 2048."
    ]


@pytest.mark.parametrize(
    ("token", "existing_arn", "accepted"),
    [
        ("", "arn:aws:secretsmanager:us-east-1:123456789012:secret:t-AbCdEf", True),
        ("a-token", "", True),
        ("", "", False),
        ("a-token", "arn:aws:secretsmanager:us-east-1:123456789012:secret:t-AbCdEf", False),
    ],
)
def test_token_rule_exactly_one_token_source_is_accepted(token: str, existing_arn: str, accepted: bool) -> None:
    failures = rule_failures(
        valid_parameters(DataHubAccessToken=token, ExistingDataHubAccessTokenSecretArn=existing_arn)
    )

    assert (failures == []) is accepted


def test_token_parameter_is_no_echo_and_optional() -> None:
    token = load_template()["Parameters"]["DataHubAccessToken"]

    assert token["NoEcho"] is True
    assert token["Default"] == ""


@pytest.mark.parametrize(
    ("name", "default"),
    [
        ("ExecutorId", "remote"),
        ("AssignPublicIp", "DISABLED"),
        ("CapacityProvider", "FARGATE"),
        ("SecretNamePrefix", "datahub-executor/"),
        ("SecretArns", ""),
        ("RunEnvVars", ""),
        ("RunTimeoutSeconds", 86400),
        ("ProducerPrincipal", ""),
        ("TaskEphemeralStorageSizeInGiB", 21),
    ],
)
def test_parameter_defaults_match_the_documented_behaviour(name: str, default: Any) -> None:
    assert load_template()["Parameters"][name]["Default"] == default


def test_network_parameters_are_lists_of_aws_ids() -> None:
    parameters = load_template()["Parameters"]

    assert parameters["SubnetIds"]["Type"] == "List<AWS::EC2::Subnet::Id>"
    assert parameters["SecurityGroupIds"]["Type"] == "List<AWS::EC2::SecurityGroup::Id>"


def test_secrets_and_env_vars_are_unbounded_lists() -> None:
    """The existing executor caps both at 10 items; ours are plain comma-delimited lists."""
    parameters = load_template()["Parameters"]

    for name in ("SecretArns", "RunEnvVars"):
        assert parameters[name]["Type"] == "CommaDelimitedList"
        assert "AllowedValues" not in parameters[name]


def test_ephemeral_storage_is_bounded_to_fargate_limits() -> None:
    storage = load_template()["Parameters"]["TaskEphemeralStorageSizeInGiB"]

    assert (storage["MinValue"], storage["MaxValue"]) == (21, 200)


@pytest.mark.parametrize(
    ("principal", "accepted"),
    [
        ("", True),
        ("123456789012", True),
        ("arn:aws:iam::123456789012:role/datahub-actions", True),
        ("*", False),
        ("arn:aws:iam::123456789012:root*", False),
    ],
)
def test_producer_principal_accepts_only_an_account_or_role(principal: str, accepted: bool) -> None:
    assert bool(allowed_pattern("ProducerPrincipal").fullmatch(principal)) is accepted


def test_secret_name_prefix_cannot_be_empty_so_runs_never_read_every_secret() -> None:
    assert not allowed_pattern("SecretNamePrefix").fullmatch("")
