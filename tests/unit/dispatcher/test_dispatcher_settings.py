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
    "SECRET_ARNS": "PG_PASSWORD=arn:aws:secretsmanager:us-east-1:1:secret:pg-AbCdEf, SF=arn:sf",
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
        "PG_PASSWORD": "arn:aws:secretsmanager:us-east-1:1:secret:pg-AbCdEf",
        "SF": "arn:sf",
    }
    assert settings.run_env_vars == {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": ".internal"}
    assert settings.capacity_provider == "FARGATE_SPOT"
    assert (settings.executor_id, settings.runner_container_name, settings.log_stream_prefix) == (
        "remote",
        "runner",
        "runs",
    )
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
