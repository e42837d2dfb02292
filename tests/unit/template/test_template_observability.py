"""The dashboard, the health alarms and the FAILURE notification rule (issue 15 items 3, 4, 6)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sam_template import REPO_ROOT, load_template

NAMESPACE = "DataHubRemoteExecutor"


def _resources() -> dict[str, Any]:
    return load_template()["Resources"]


def _dashboard() -> dict[str, Any]:
    body = _resources()["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    # ${...} are CloudFormation's substitutions; the rest must be the JSON CloudWatch accepts.
    return json.loads(re.sub(r"\$\{[^}]+\}", "X", body))


def _emitted_source() -> str:
    return "\n".join(p.read_text() for p in (REPO_ROOT / "functions").rglob("*.py"))


def test_dashboard_has_a_widget_for_each_question():
    titles = " | ".join(w["properties"]["title"].lower() for w in _dashboard()["widgets"])
    for words in (
        "status",
        "queue to running",
        "durations",
        "cost by source",
        "command queue",
        "dead-letter",
        "errors",
    ):
        assert words in titles


def test_dashboard_metrics_of_our_namespace_are_all_emitted_by_the_functions():
    body = json.dumps(_dashboard())
    names = set(re.findall(r'MetricName=\\"(\w+)\\"', body))
    names |= set(re.findall(rf'\["{NAMESPACE}", "(\w+)"', body))
    source = _emitted_source()
    assert {"RunsFinished", "RunCostUsd", "RunDurationSeconds", "QueueWaitSeconds", "BackstopHeartbeat"} <= names
    for name in names:
        assert f'"{name}"' in source, f"{name} is on the dashboard but no function emits it"


@pytest.mark.parametrize("function", ["DispatcherFunction", "ReconcilerFunction", "BackstopFunction"])
def test_errors_alarm_for_each_function_notifies_the_alarm_topic(function):
    alarms = [
        r["Properties"]
        for r in _resources().values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("MetricName") == "Errors"
    ]
    (alarm,) = [a for a in alarms if a["Dimensions"][0]["Value"] == {"Ref": function}]
    assert alarm["EvaluationPeriods"] >= 2  # keeps failing, not one bad message
    assert alarm["AlarmActions"]["Fn::If"][0] == "HasAlarmTopic"


def test_heartbeat_alarm_treats_silence_as_breaching():
    alarm = _resources()["BackstopHeartbeatAlarm"]["Properties"]
    assert (alarm["MetricName"], alarm["TreatMissingData"]) == ("BackstopHeartbeat", "breaching")
    assert alarm["Period"] * alarm["EvaluationPeriods"] >= 20 * 60  # two missed 10-minute schedules


def test_failure_rule_routes_only_failures_to_the_alarm_topic_with_the_run():
    rule = _resources()["RunFailureNotificationRule"]
    assert rule["Condition"] == "HasAlarmTopic"
    pattern = rule["Properties"]["EventPattern"]
    assert pattern == {
        "source": ["datahub.executor"],
        "detail-type": ["Ingestion Run State Change"],
        "detail": {"status": ["FAILURE"]},
    }
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": "AlarmTopicArn"}
    assert target["InputTransformer"]["InputPathsMap"]["urn"] == "$.detail.executionRequestUrn"


@pytest.mark.parametrize("name", ["FargatePrices", "SpotPriceFactor", "AlarmTopicArn", "DataHubUiUrl"])
def test_readme_operating_it_has_a_row_for_each_parameter(name):
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Operating it", 1)[1].split("\n## ", 1)[0]
    assert f"| `{name}` |" in section
    assert name in _resources() or name in load_template()["Parameters"]


def _operating_it() -> str:
    return (REPO_ROOT / "README.md").read_text().split("## Operating it", 1)[1].split("\n## ", 1)[0]


def test_readme_operating_it_lists_every_dashboard_widget_by_its_title():
    section = " ".join(_operating_it().split())
    for widget in _dashboard()["widgets"]:
        assert widget["properties"]["title"] in section


def test_readme_operating_it_shows_the_run_page_screenshot_that_is_committed():
    from tests.support.png import png_summary

    images = re.findall(r"!\[[^\]]+\]\(([^)\s]+\.png)\)", _operating_it())
    assert images, "no screenshot in the Operating it section"
    for image in images:
        path = REPO_ROOT / image
        assert path.is_file(), f"{image} is referenced but not committed (make screenshot)"
        assert path.stat().st_size < 200 * 1024
        width, _, colours = png_summary(path.read_bytes())
        assert width >= 1000 and colours > 20, f"{image} looks blank or too small to read"
