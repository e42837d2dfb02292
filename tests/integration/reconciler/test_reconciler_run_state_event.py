"""The reconciler's terminal write also publishes the "Ingestion Run State Change" event (issue 15 item 3)."""

from __future__ import annotations

import boto3
from reconciler_stack import REGION

from tests.conftest import load_event
from tests.support.run_events import catch_run_events, caught_run_events


def _urn(event: dict) -> str:
    env = event["detail"]["overrides"]["containerOverrides"][0]["environment"]
    return next(pair["value"] for pair in env if pair["name"] == "EXECUTOR_EXECUTION_REQUEST_URN")


def _with_bus(monkeypatch) -> None:
    from reconciler.handler import get_ports
    from reconciler.settings import get_settings

    monkeypatch.setenv("EVENT_BUS_NAME", "default")
    get_settings.cache_clear()
    get_ports.cache_clear()


def test_reconciler_oom_publishes_failure_event_with_diagnosis_and_cost(reconciler_stack, monkeypatch):
    # GIVEN a rule catching the executor's events, and a RUNNING run whose task ran out of memory
    _with_bus(monkeypatch)
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = catch_run_events(boto3.client("events", region_name=REGION), sqs)
    event = load_event("ecs_task_stopped_oom.json")
    reconciler_stack.gms.seed_result(_urn(event), {"status": "RUNNING", "report": "", "startTimeMs": 1})

    # WHEN its STOPPED event arrives
    reconciler_stack.invoke(event)

    # THEN one event carries the run, its source, FAILURE, the diagnosis, the duration and the cost
    (published,) = caught_run_events(sqs, queue_url)
    detail = published["detail"]
    assert published["detail-type"] == "Ingestion Run State Change"
    assert detail["executionRequestUrn"] == _urn(event)
    assert detail["ingestionSourceUrn"] == "urn:li:dataHubIngestionSource:7f3d2c1b-9a8e-4f6d-b5c4-3a2b1c0d9e8f"
    assert detail["status"] == "FAILURE"
    assert detail["diagnosis"] == "The run ran out of memory"
    assert detail["durationMs"] == (41 * 60 + 11) * 1000 + 368
    assert detail["estimatedCostUsd"] == 0.040384
    assert detail["reportedBy"] == "reconciler"

    # AND a duplicate delivery publishes nothing more
    reconciler_stack.invoke(event)
    assert caught_run_events(sqs, queue_url) == []


def test_reconciler_runner_reported_run_publishes_nothing(reconciler_stack, monkeypatch):
    # GIVEN the runner already wrote (and published) SUCCESS
    _with_bus(monkeypatch)
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = catch_run_events(boto3.client("events", region_name=REGION), sqs)
    event = load_event("ecs_task_stopped_after_success.json")
    reconciler_stack.gms.seed_result(_urn(event), {"status": "SUCCESS", "report": "done", "startTimeMs": 1})

    reconciler_stack.invoke(event)

    assert caught_run_events(sqs, queue_url) == []
