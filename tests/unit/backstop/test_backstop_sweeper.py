"""The backstop's plan: only our over-time tasks, with a reason the reconciler recognises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backstop.sweeper import plan_stops
from executor_common.ecs_task import TaskDetail
from executor_common.runspec import TAG_EXECUTION_REQUEST, TAG_RUN_TIMEOUT
from reconciler.diagnosis import diagnose

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HOUR = 3600
GRACE = 900


def _task(name: str, age: timedelta, *, tag_timeout: str | None = None, env_timeout: str | None = None, ours=True):
    tags = [{"key": TAG_EXECUTION_REQUEST, "value": f"urn:li:dataHubExecutionRequest:{name}"}] if ours else []
    if tag_timeout:
        tags.append({"key": TAG_RUN_TIMEOUT, "value": tag_timeout})
    env = [{"name": "EXECUTOR_RUN_TIMEOUT_SECONDS", "value": env_timeout}] if env_timeout else []
    return {
        "taskArn": f"arn:aws:ecs:us-east-1:1:task/c/{name}",
        "lastStatus": "RUNNING",
        "desiredStatus": "RUNNING",
        "startedAt": NOW - age,
        "tags": tags,
        "overrides": {"containerOverrides": [{"name": "runner", "environment": env}]},
    }


def _names(plans):
    return [plan.task_arn.rsplit("/", 1)[-1] for plan in plans]


def test_plan_stops_only_tasks_past_timeout_plus_grace():
    tasks = [
        _task("young", timedelta(hours=1)),
        _task("in-grace", timedelta(seconds=24 * HOUR + GRACE - 60)),
        _task("over", timedelta(seconds=24 * HOUR + GRACE + 60)),
    ]

    assert _names(plan_stops(tasks, NOW, 24 * HOUR, GRACE)) == ["over"]


def test_plan_stops_tag_timeout_beats_override_beats_default():
    tasks = [
        _task("tagged", timedelta(hours=2), tag_timeout="3600", env_timeout="36000"),
        _task("overridden", timedelta(hours=2), env_timeout="3600"),
        _task("default", timedelta(hours=2)),
    ]

    assert _names(plan_stops(tasks, NOW, 24 * HOUR, GRACE)) == ["tagged", "overridden"]


def test_plan_stops_never_touches_a_task_without_a_run_marker():
    tasks = [_task("stranger", timedelta(days=30), ours=False)]

    assert plan_stops(tasks, NOW, HOUR, GRACE) == []


def test_plan_stops_ignores_tasks_already_stopping_and_bad_timeouts():
    stopping = _task("stopping", timedelta(days=3))
    stopping["desiredStatus"] = "STOPPED"
    garbage = _task("garbage", timedelta(hours=2), tag_timeout="soon")

    assert _names(plan_stops([stopping, garbage], NOW, HOUR, GRACE)) == ["garbage"]


def test_plan_stops_uses_created_at_for_a_task_stuck_before_start():
    stuck = _task("stuck", timedelta(0))
    stuck.pop("startedAt")
    stuck["createdAt"] = NOW - timedelta(days=2)

    assert _names(plan_stops([stuck], NOW, HOUR, GRACE)) == ["stuck"]


def test_plan_stops_reason_is_read_back_as_timed_out():
    (plan,) = plan_stops([_task("over", timedelta(hours=26))], NOW, 24 * HOUR, GRACE)
    stopped = TaskDetail.model_validate(
        {"taskArn": plan.task_arn, "lastStatus": "STOPPED", "stopCode": "UserInitiated", "stoppedReason": plan.reason}
    )

    assert (
        plan.reason == "Stopped by the executor's backstop: running for 1d 2h, longer than its timeout 1d (+15m grace)"
    )
    assert len(plan.reason) <= 255
    assert diagnose(stopped).reason == "TimedOut"
