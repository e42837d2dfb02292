"""What a platform team is told, through the local stack (issue 15): the backstop's heartbeat lands where
its alarm looks (item 6), and a FAILURE reaches the alarm topic with a link and the reason (item 3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import E2E_SECRET, TERMINAL

from local_stack.commands import new_execution_urn, run_command, sqlite_recipe
from local_stack.moto_server import ACCOUNT_ID, REGION
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ALERT_TOPIC = "datahub-executor-alerts"
ALERT_TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{ALERT_TOPIC}"
UI_URL = "https://datahub.example.com"
MISSING_SECRET = "E2E_ALERT_NO_SUCH_SECRET"


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    """The local stack deployed with the alarm topic and DataHub's UI address set (the topic comes later, as in
    an account where the stack only names it)."""
    from local_stack.stack import LocalStack

    local = LocalStack(log_level="ERROR", extra_parameters={"AlarmTopicArn": ALERT_TOPIC_ARN, "DataHubUiUrl": UI_URL})
    local.start()
    try:
        yield local
    finally:
        local.stop()


def _emf_documents(logs: Any, group: str) -> list[dict[str, Any]]:
    documents = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
        for event in page["events"]:
            if event["message"].startswith("{") and '"_aws"' in event["message"]:
                documents.append(json.loads(event["message"]))
    return documents


def _watched_by(alarm: dict[str, Any], document: dict[str, Any]) -> bool:
    """True when the EMF document puts a value on exactly the alarm's namespace, metric and dimensions."""
    wanted = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    for directive in document["_aws"]["CloudWatchMetrics"]:
        names = [metric["Name"] for metric in directive["Metrics"]]
        if directive["Namespace"] != alarm["Namespace"] or alarm["MetricName"] not in names:
            continue
        dimension_sets = [{key: document.get(key) for key in keys} for keys in directive["Dimensions"]]
        if wanted in dimension_sets:
            return True
    return False


def test_backstop_schedule_writes_the_heartbeat_its_alarm_watches_to_its_log_group(stack: Any) -> None:
    # GIVEN the heartbeat alarm as the stack created it in CloudWatch, and the backstop's log group as Lambda
    # picks it (the function's LoggingConfig in the deployed template)
    cloudwatch, logs = stack.aws.client("cloudwatch"), stack.aws.client("logs")
    alarm_name = stack.deployed.physical_id("BackstopHeartbeatAlarm")
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    backstop = stack.deployed.template["Resources"]["BackstopFunction"]["Properties"]
    group = stack.deployed.physical_id(backstop["LoggingConfig"]["LogGroup"]["Ref"])

    # WHEN the local scheduler fires the backstop's schedule rule
    fired = stack.fire_schedules()

    # THEN the sweep worked and its log group holds an EMF record on exactly what the alarm watches
    assert "BackstopFunction" in fired
    beats = wait_until(
        lambda: [d for d in _emf_documents(logs, group) if _watched_by(alarm, d)], 30, "the heartbeat in the log group"
    )
    assert len(beats) == 1
    # AND a missing heartbeat (a schedule that stopped, a sweep that failed) is what raises the alarm
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert alarm["AlarmActions"] == [ALERT_TOPIC_ARN]


def _subscribe_queue(stack: Any) -> str:
    sns, sqs = stack.aws.client("sns"), stack.aws.client("sqs")
    assert sns.create_topic(Name=ALERT_TOPIC)["TopicArn"] == ALERT_TOPIC_ARN
    queue_url = sqs.create_queue(QueueName="e2e-alert-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=ALERT_TOPIC_ARN, Protocol="sqs", Endpoint=queue_arn)
    return str(queue_url)


def _notifications(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_a_failed_run_notifies_the_alarm_topic_with_a_link_and_the_reason_but_no_secret(
    stack: Any, source_db: Path
) -> None:
    # GIVEN a queue subscribed to the stack's alarm topic
    sqs = stack.aws.client("sqs")
    inbox = _subscribe_queue(stack)
    ok, failed = new_execution_urn("e2e-alert-ok"), new_execution_urn("e2e-alert-failed")
    # a recipe that holds a real secret (the database path) and names one nobody created: the demo's FAILURE
    broken = sqlite_recipe("${" + E2E_SECRET + "}", pipeline_name="e2e-alert-failed")
    broken["source"]["config"]["password"] = "${" + MISSING_SECRET + "}"

    # WHEN one run fails and one succeeds
    stack.send(run_command(failed, broken))
    stack.send(run_command(ok, sqlite_recipe("${" + E2E_SECRET + "}", pipeline_name="e2e-alert-ok")))
    ended = {urn: stack.gms.wait_for_status(urn, TERMINAL, timeout=150)["status"] for urn in (failed, ok)}
    assert ended == {failed: "FAILURE", ok: "SUCCESS"}

    # THEN the topic carries one notification, for the failed run: its URN, the reason and the link to DataHub
    received: list[dict[str, Any]] = []

    def notified() -> bool:
        received.extend(_notifications(sqs, inbox))
        return any(failed in n["Message"] for n in received)

    wait_until(notified, 60, "the FAILURE notification on the alarm topic")
    received.extend(_notifications(sqs, inbox))  # anything later (there should be nothing for the SUCCESS)
    (notification,) = received
    assert notification["TopicArn"] == ALERT_TOPIC_ARN
    text = json.loads(notification["Message"])
    assert failed in text and "FAILED" in text
    assert MISSING_SECRET in text  # the reason: the secret found in neither store
    assert f"{UI_URL}/ingestion" in text
    assert ok not in json.dumps(received)
    # AND no secret value travels in it: not the database path, not the stack's GMS token
    assert str(source_db) not in json.dumps(received)
    assert stack.info.gms_token not in json.dumps(received)
