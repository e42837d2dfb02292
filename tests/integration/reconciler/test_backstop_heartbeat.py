"""The backstop's schedule writes the heartbeat that template.yaml's alarm watches (issue 15 item 6)."""

from __future__ import annotations

import json

import boto3
import pytest
from reconciler_stack import CLUSTER, REGION

from tests.conftest import load_event
from tests.unit.template.sam_template import load_template


def _heartbeats(stdout: str) -> list[dict]:
    docs = [json.loads(line) for line in stdout.splitlines() if '"_aws"' in line]
    return [d for d in docs if "BackstopHeartbeat" in d]


def test_backstop_sweep_emits_the_heartbeat_the_alarm_watches(reconciler_stack, capsys, monkeypatch):
    # GIVEN the runner cluster, the backstop's environment and the alarm as template.yaml declares them
    template = load_template()["Resources"]
    backstop_env = template["BackstopFunction"]["Properties"]["Environment"]["Variables"]
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", backstop_env["POWERTOOLS_SERVICE_NAME"])
    boto3.client("ecs", region_name=REGION).create_cluster(clusterName=CLUSTER)
    alarm = template["BackstopHeartbeatAlarm"]["Properties"]

    # WHEN the schedule runs the backstop
    reconciler_stack.invoke_backstop(load_event("backstop_schedule.json"))

    # THEN one heartbeat lands in the alarm's namespace, metric and dimensions; a missing one is breaching
    (beat,) = _heartbeats(capsys.readouterr().out)
    directive = beat["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == alarm["Namespace"]
    assert directive["Metrics"][0]["Name"] == alarm["MetricName"]
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {k: beat[k] for k in directive["Dimensions"][0]}
    assert alarm["TreatMissingData"] == "breaching"


def test_backstop_failing_sweep_writes_no_heartbeat(reconciler_stack, capsys):
    # GIVEN no runner cluster: ListTasks fails
    with pytest.raises(Exception):  # noqa: B017 - whatever the ECS error, the invocation fails
        reconciler_stack.invoke_backstop(load_event("backstop_schedule.json"))

    # THEN no heartbeat: the alarm fires when every sweep fails, not only when none runs
    assert _heartbeats(capsys.readouterr().out) == []
