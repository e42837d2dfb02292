"""The sample events in events/ keep the shapes AWS documents, so `sam local invoke -e` sees real input."""

from __future__ import annotations

import json

import pytest

from tests.conftest import EVENTS_DIR, load_event

TASK_EVENTS = sorted(p.name for p in EVENTS_DIR.glob("ecs_task_*.json"))
ENVELOPE = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
DETAIL = {"taskArn", "clusterArn", "taskDefinitionArn", "lastStatus", "desiredStatus", "containers", "overrides"}
DETAIL |= {"createdAt", "stoppedAt", "stoppedReason", "stopCode", "group", "startedBy", "cpu", "memory", "version"}


def test_sample_events_cover_every_failure_the_issue_names():
    assert {
        "ecs_task_stopped_oom.json",
        "ecs_task_stopped_image_pull.json",
        "ecs_task_stopped_secrets.json",
        "ecs_task_failed_to_start.json",
        "ecs_task_stopped_after_success.json",
    } <= set(TASK_EVENTS)


@pytest.mark.parametrize("name", TASK_EVENTS)
def test_sample_task_event_has_the_documented_shape(name):
    event = load_event(name)

    assert set(event) >= ENVELOPE
    assert (event["detail-type"], event["source"], event["version"]) == ("ECS Task State Change", "aws.ecs", "0")
    assert event["resources"] == [event["detail"]["taskArn"]]
    assert set(event["detail"]) >= DETAIL
    assert event["detail"]["lastStatus"] == "STOPPED"
    assert isinstance(event["detail"]["version"], int)
    runner = event["detail"]["overrides"]["containerOverrides"][0]
    assert runner["name"] == "runner"
    assert "EXECUTOR_EXECUTION_REQUEST_URN" in {pair["name"] for pair in runner["environment"]}


def test_sample_sqs_batch_wraps_task_events_as_the_rule_delivers_them():
    batch = load_event("reconciler_sqs_batch.json")

    bodies = [json.loads(record["body"]) for record in batch["Records"]]

    assert all(record["eventSource"] == "aws:sqs" for record in batch["Records"])
    assert [body["detail-type"] for body in bodies] == ["ECS Task State Change"] * len(bodies)
