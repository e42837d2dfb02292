"""A Spot-interrupted run of a FARGATE_SPOT_WITH_FALLBACK source is re-run once on on-demand (issue 14 item 3).

The reconciler reads the execution request's input from DataHub (the stand-in), writes PENDING saying
why, and sends the same request to the command queue (moto) with EXECUTOR_CAPACITY_PROVIDER=FARGATE and
EXECUTOR_RERUN_OF=<interrupted task>. A run without the fallback, or a re-run interrupted again, ends ABORTED.
"""

from __future__ import annotations

import copy
import json

import boto3
import pytest
from reconciler_stack import REGION, RUN_LOG_LINES, sqs_batch

from tests.conftest import load_event

RUNNER_CANCELLED = {"status": "CANCELLED", "report": "Cancelled (SIGTERM)", "startTimeMs": 1764140000000}


def _urn(event: dict) -> str:
    env = event["detail"]["overrides"]["containerOverrides"][0]["environment"]
    return next(pair["value"] for pair in env if pair["name"] == "EXECUTOR_EXECUTION_REQUEST_URN")


def _spot_event(**extra_env: str) -> dict:
    event = copy.deepcopy(load_event("ecs_task_stopped_spot.json"))
    env = event["detail"]["overrides"]["containerOverrides"][0]["environment"]
    env.extend({"name": name, "value": value} for name, value in extra_env.items())
    return event


@pytest.fixture
def command_queue_url(reconciler_stack, monkeypatch):
    from reconciler.handler import get_ports
    from reconciler.settings import get_settings

    url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="datahub-executor-CommandQueue")["QueueUrl"]
    monkeypatch.setenv("COMMAND_QUEUE_URL", url)
    get_settings.cache_clear()
    get_ports.cache_clear()
    return url


def _given_interrupted_run(stack, event: dict) -> str:
    """GIVEN DataHub holds the request's input, and the runner wrote CANCELLED on the Spot SIGTERM."""
    from local_stack.gms_store import EXECUTION_REQUEST_ENTITY, INPUT_ASPECT, Proposal

    urn = _urn(event)
    request_input = json.loads(load_event("run_ingest.json")["Records"][0]["body"])["aspect"]
    stack.gms.store.apply([Proposal(EXECUTION_REQUEST_ENTITY, urn, "UPSERT", INPUT_ASPECT, request_input)])
    stack.gms.seed_result(urn, copy.deepcopy(RUNNER_CANCELLED))
    stack.put_run_log(event["detail"]["taskArn"].rsplit("/", 1)[-1], RUN_LOG_LINES)
    return urn


def _queued(url: str) -> list[dict]:
    messages = boto3.client("sqs", region_name=REGION).receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["MessageGroupId"]
    )
    return [
        {**json.loads(m["Body"]), "MessageGroupId": m.get("Attributes", {}).get("MessageGroupId")}
        for m in messages.get("Messages", [])
    ]


def test_reconciler_spot_interrupted_fallback_run_is_sent_back_on_demand(reconciler_stack, command_queue_url):
    event = _spot_event(EXECUTOR_CAPACITY_PROVIDER="FARGATE_SPOT_WITH_FALLBACK")
    urn = _given_interrupted_run(reconciler_stack, event)

    # WHEN ECS reports the task stopped with stopCode SpotInterruption
    assert reconciler_stack.invoke(sqs_batch(event)) == {"batchItemFailures": []}

    # THEN DataHub shows the same request PENDING, saying it is re-run and why; not ABORTED
    assert reconciler_stack.gms.statuses(urn) == ["CANCELLED", "PENDING"]
    report = reconciler_stack.gms.result(urn)["report"]
    assert "Re-running on on-demand Fargate" in report and "SpotInterruption" in report
    # AND the same execution request is on the command queue, on on-demand, naming the interrupted task
    (body,) = _queued(command_queue_url)
    assert body["entityUrn"] == urn
    assert body.pop("MessageGroupId") == body["aspect"]["source"]["ingestionSource"]  # its source's fair-queue tenant
    env = json.loads(body["aspect"]["args"]["extra_env_vars"])
    assert env["EXECUTOR_CAPACITY_PROVIDER"] == "FARGATE"
    assert env["EXECUTOR_RERUN_OF"] == event["detail"]["taskArn"]
    assert env["TZ"] == "UTC"  # the source's own settings stay
    assert json.loads(body["aspect"]["args"]["recipe"])["source"]["type"] == "postgres"


@pytest.mark.parametrize(
    "extra_env",
    [{}, {"EXECUTOR_CAPACITY_PROVIDER": "FARGATE_SPOT_WITH_FALLBACK", "EXECUTOR_RERUN_OF": "arn:aws:ecs:task/x"}],
    ids=["plain-spot", "already-a-rerun"],
)
def test_reconciler_spot_interruption_without_fallback_or_rerun_left_is_aborted(
    reconciler_stack, command_queue_url, extra_env
):
    event = _spot_event(**extra_env)
    urn = _given_interrupted_run(reconciler_stack, event)

    reconciler_stack.invoke(sqs_batch(event))

    assert reconciler_stack.gms.statuses(urn) == ["CANCELLED", "ABORTED"]
    assert _queued(command_queue_url) == []
