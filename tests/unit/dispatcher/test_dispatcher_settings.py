"""The environment model: parsed like template.yaml writes it, and loud when misconfigured."""

from __future__ import annotations

import pytest
from dispatcher.settings import DispatcherSettings, get_settings
from dispatcher_unit_helpers import make_settings
from pydantic import ValidationError

ENV = {
    "DATAHUB_GMS_URL": "https://datahub.example.com/gms/",
    "ECS_CLUSTER": "c",
    "TASK_DEFINITION_ARN": "arn:aws:ecs:us-east-1:1:task-definition/runner:3",
    "SUBNET_IDS": "subnet-a, subnet-b",
    "SECURITY_GROUP_IDS": "sg-a",
    "RUN_BUCKET": "b",
    "LOG_GROUP_NAME": "/g",
    "SECRET_ARNS": (
        "PG_PASSWORD=arn:aws:secretsmanager:us-east-1:123456789012:secret:pg-AbCdEf, "
        "SF=arn:aws:secretsmanager:us-east-1:123456789012:secret:team/sf-Zx12Ab"
    ),
    "RUN_ENV_VARS": "HTTPS_PROXY=http://proxy:3128,NO_PROXY=.internal",
    "CAPACITY_PROVIDER": "FARGATE_SPOT",
}


@pytest.fixture
def env(monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_settings_from_environment_parse_lists_and_pairs(env):
    settings = get_settings()
    assert settings.datahub_gms_url == "https://datahub.example.com/gms"
    assert settings.subnet_ids == ["subnet-a", "subnet-b"]
    assert settings.secret_arns == {
        "PG_PASSWORD": "arn:aws:secretsmanager:us-east-1:123456789012:secret:pg-AbCdEf",
        "SF": "arn:aws:secretsmanager:us-east-1:123456789012:secret:team/sf-Zx12Ab",
    }
    assert settings.run_env_vars == {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": ".internal"}
    assert settings.capacity_provider == "FARGATE_SPOT"
    assert (settings.executor_id, settings.log_stream_prefix) == ("remote", "runs")
    assert get_settings() is settings  # cached for the container


def test_settings_empty_pairs_are_empty(env, monkeypatch):
    monkeypatch.setenv("SECRET_ARNS", "")
    monkeypatch.setenv("RUN_ENV_VARS", "")
    settings = DispatcherSettings()
    assert settings.secret_arns == {} and settings.run_env_vars == {}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"datahub_gms_url": "https://acme.acryl.io"}, "for DataHub Cloud must end in /gms"),
        ({"datahub_gms_url": "datahub-gms:8080"}, "must be an http(s) base URL"),
        ({"default_task_cpu": "1024", "default_task_memory": "1024"}, "use one of 2048"),
        ({"default_ephemeral_storage_gib": 10}, "outside Fargate's 21-200 GiB"),
        ({"subnet_ids": ""}, "at least one id is required"),
        ({"secret_arns": "PG_PASSWORD"}, "SECRET_ARNS must be comma-separated NAME=value pairs"),
        ({"run_env_vars": "1BAD=x"}, "RUN_ENV_VARS must be comma-separated NAME=value pairs"),
        ({"assign_public_ip": "YES"}, "assign_public_ip"),
    ],
)
def test_settings_misconfiguration_fails_loudly(override, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_settings(**override)


def test_settings_missing_required_value_fails(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError, match="ecs_cluster"):
        DispatcherSettings()


SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/pg-AbCdEf"


@pytest.mark.parametrize(
    ("arn", "message"),
    [
        (SECRET + ":password::", "JSON-key or version suffix"),
        (SECRET + ":password:AWSCURRENT:", "JSON-key or version suffix"),
        (SECRET + "::AWSPREVIOUS:", "JSON-key or version suffix"),
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/pg", "partial ARN"),
        ("team/pg", "is not a Secrets Manager secret ARN"),
        ("arn:aws:ssm:eu-west-1:123456789012:parameter/pg", "is not a Secrets Manager secret ARN"),
    ],
)
def test_settings_secret_arns_must_be_complete_bare_arns(arn, message):
    # GIVEN a SecretArns entry ECS would fetch by a different (bare, complete) ARN than the role allows
    with pytest.raises(ValidationError, match=message) as caught:
        make_settings(secret_arns=f"PG_PASSWORD={arn}")
    assert "PG_PASSWORD: the ARN" in str(caught.value)


def test_settings_token_secret_arn_must_be_complete():
    with pytest.raises(ValidationError, match="DATAHUB_GMS_TOKEN_SECRET_ARN is a partial ARN"):
        make_settings(datahub_gms_token_secret_arn="arn:aws:secretsmanager:eu-west-1:123456789012:secret:dh-token")
    assert make_settings(datahub_gms_token_secret_arn=SECRET).datahub_gms_token_secret_arn == SECRET
    assert make_settings(datahub_gms_token_secret_arn="").datahub_gms_token_secret_arn is None


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_settings_secret_arns_accept_every_partition(partition):
    arn = f"arn:{partition}:secretsmanager:us-gov-west-1:123456789012:secret:a/b_c+d=e.f@g-h-AbC123"
    assert make_settings(secret_arns=f"X={arn}").secret_arns == {"X": arn}
