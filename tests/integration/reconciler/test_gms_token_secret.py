"""The DataHub token as the Lambdas read it: from Secrets Manager (moto), per request, through powertools' cache.

Both the dispatcher and the reconciler build their GMS client once per container; a rotated token must
still be used once the cache time has passed (no cold start), and a token secret the role cannot read
must be a clear, classified error naming the secret and the fix.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.core import set_initial_no_auth_action_count
from reconciler_stack import REGION, sqs_batch

from tests.conftest import load_event
from tests.support.aws_harness import lambda_context, set_lambda_env

OLD_TOKEN = "canary-token-before-rotation-1f2e"
NEW_TOKEN = "canary-token-after-rotation-9c8b"
#: The cache time, shortened so the test waits one second instead of five minutes (the mechanism is the same).
CACHE_SECONDS = 1


@pytest.fixture
def token_secret(reconciler_stack: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """GIVEN the token in Secrets Manager, the Lambdas pointed at it (not at DATAHUB_GMS_TOKEN), GMS accepting it."""
    from aws_lambda_powertools.utilities import parameters
    from executor_common import gms_token
    from reconciler.handler import get_ports

    arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="datahub-executor/gms-token", SecretString=OLD_TOKEN
    )["ARN"]
    reconciler_stack.gms.token = OLD_TOKEN
    monkeypatch.delenv("DATAHUB_GMS_TOKEN")
    monkeypatch.setenv("DATAHUB_GMS_TOKEN_SECRET_ARN", arn)
    monkeypatch.setattr(gms_token, "TOKEN_CACHE_SECONDS", CACHE_SECONDS)
    _fresh_secrets_client(parameters)
    get_ports.cache_clear()
    yield arn
    _fresh_secrets_client(parameters)


def _fresh_secrets_client(parameters: Any) -> None:
    """Powertools keeps one Secrets Manager provider (client and cache) per process; start each test clean."""
    from aws_lambda_powertools.utilities.parameters import base

    parameters.clear_caches()
    base.DEFAULT_PROVIDERS.clear()


def _rotate(reconciler_stack: Any, arn: str) -> None:
    """The token is rotated: Secrets Manager has the new one and DataHub refuses the old one from now on."""
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(SecretId=arn, SecretString=NEW_TOKEN)
    reconciler_stack.gms.token = NEW_TOKEN


def _stopped_event_of_a_new_run(reconciler_stack: Any) -> tuple[dict[str, Any], str]:
    event = copy.deepcopy(load_event("ecs_task_stopped_oom.json"))
    urn = f"urn:li:dataHubExecutionRequest:{uuid.uuid4()}"
    event["detail"]["overrides"]["containerOverrides"][0]["environment"][0]["value"] = urn
    reconciler_stack.gms.seed_result(urn, {"status": "RUNNING", "startTimeMs": 1})
    return event, urn


def test_reconciler_uses_a_rotated_token_within_the_cache_time(reconciler_stack, token_secret):
    # GIVEN a warm reconciler that already wrote with the old token
    first, first_urn = _stopped_event_of_a_new_run(reconciler_stack)
    assert reconciler_stack.invoke(sqs_batch(first)) == {"batchItemFailures": []}
    assert reconciler_stack.gms.result(first_urn)["status"] == "FAILURE"

    # WHEN the token is rotated
    _rotate(reconciler_stack, token_secret)
    event, urn = _stopped_event_of_a_new_run(reconciler_stack)
    # (while the cached token lives, GMS refuses it and the record comes back: nothing is lost)
    assert reconciler_stack.invoke(sqs_batch(event))["batchItemFailures"]
    time.sleep(CACHE_SECONDS + 0.2)

    # THEN the same warm container uses the new token once the cache time has passed
    assert reconciler_stack.invoke(sqs_batch(event)) == {"batchItemFailures": []}
    assert reconciler_stack.gms.result(urn)["status"] == "FAILURE"
    assert NEW_TOKEN not in reconciler_stack.logs_text() and OLD_TOKEN not in reconciler_stack.logs_text()


def _dispatcher_env(monkeypatch: pytest.MonkeyPatch, gms_url: str, token_arn: str) -> None:
    set_lambda_env(
        monkeypatch,
        region=REGION,
        service="dispatcher",
        DATAHUB_GMS_URL=gms_url,
        DATAHUB_GMS_TOKEN_SECRET_ARN=token_arn,
        EXECUTOR_ID="remote",
        ECS_CLUSTER="datahub-executor-RunnerCluster",
        TASK_DEFINITION_ARN="arn:aws:ecs:us-east-1:123456789012:task-definition/datahub-executor-runner:1",
        SUBNET_IDS="subnet-0123456789abcdef0",
        SECURITY_GROUP_IDS="sg-0123456789abcdef0",
        RUN_BUCKET="datahub-executor-runs-123456789012",
        LOG_GROUP_NAME="/datahub-executor/runner",
    )


def _unparseable_run_message(urn: str) -> dict[str, Any]:
    """A message the dispatcher refuses but whose URN it can read: it must write FAILURE to DataHub."""
    body = json.dumps({"entityUrn": urn, "aspectName": "dataHubExecutionRequestInput", "aspect": {"task": 7}})
    return {"Records": [{**sqs_batch({})["Records"][0], "body": body}]}


def _invoke_dispatcher(event: dict[str, Any]) -> dict[str, Any]:
    from dispatcher.handler import lambda_handler

    return lambda_handler(event, lambda_context("DispatcherFunction", REGION))


@pytest.fixture
def dispatcher_container(reconciler_stack: Any, token_secret: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """GIVEN a dispatcher container (its Dependencies built the normal way, once) reading the same secret."""
    from dispatcher.handler import dependencies
    from dispatcher.settings import get_settings

    _dispatcher_env(monkeypatch, reconciler_stack.gms.url, token_secret)
    get_settings.cache_clear()
    dependencies.cache_clear()
    yield
    get_settings.cache_clear()
    dependencies.cache_clear()


def test_dispatcher_uses_a_rotated_token_within_the_cache_time(reconciler_stack, token_secret, dispatcher_container):
    from dispatcher.handler import dependencies

    # GIVEN a warm dispatcher that already wrote to DataHub with the old token
    first = f"urn:li:dataHubExecutionRequest:{uuid.uuid4()}"
    assert _invoke_dispatcher(_unparseable_run_message(first)) == {"batchItemFailures": []}
    assert reconciler_stack.gms.result(first)["status"] == "FAILURE"
    container = dependencies()

    # WHEN the token is rotated and the cache time passes
    _rotate(reconciler_stack, token_secret)
    time.sleep(CACHE_SECONDS + 0.2)

    # THEN the same container (no cold start) reports with the new token
    urn = f"urn:li:dataHubExecutionRequest:{uuid.uuid4()}"
    assert _invoke_dispatcher(_unparseable_run_message(urn)) == {"batchItemFailures": []}
    assert reconciler_stack.gms.result(urn)["status"] == "FAILURE"
    assert dependencies() is container


def test_reconciler_token_secret_it_may_not_read_is_a_clear_classified_error(reconciler_stack, token_secret):
    """A secret encrypted with a customer-managed key the role may not use: Secrets Manager answers AccessDenied."""
    from aws_lambda_powertools.utilities import parameters

    # GIVEN the reconciler's role may write logs but may not read the token secret (moto enforces IAM)
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName="reconciler")
    iam.put_user_policy(
        UserName="reconciler",
        PolicyName="no-token",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName="reconciler")["AccessKey"]
    with pytest.MonkeyPatch.context() as role:
        role.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        role.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        role.delenv("AWS_SESSION_TOKEN", raising=False)
        _fresh_secrets_client(parameters)
        event, urn = _stopped_event_of_a_new_run(reconciler_stack)

        # WHEN a stopped-task event arrives
        response = set_initial_no_auth_action_count(0)(reconciler_stack.invoke)(sqs_batch(event))

    # THEN the record comes back (it reaches the DLQ and its alarm while the role stays wrong), nothing is written
    assert len(response["batchItemFailures"]) == 1
    assert reconciler_stack.gms.result(urn)["status"] == "RUNNING"
    # AND the log names the secret and the likely fix, and says what it is
    records = [json.loads(line) for line in reconciler_stack.logs_text().splitlines() if line.startswith("{")]
    unreadable = [r for r in records if r.get("error_type") == "GmsTokenUnreadable"]
    assert unreadable, records
    message = unreadable[0]["message"]
    assert token_secret in message and "AccessDenied" in message
    assert "kms:Decrypt" in message and "kms:ViaService" in message
    assert OLD_TOKEN not in reconciler_stack.logs_text()
