"""reconcile_stopped_task with a fake GMS: the decisions around the write, without HTTP."""

from __future__ import annotations

import pytest
from executor_common.errors import GmsError
from executor_common.results import ExecutionRequestResult
from executor_common.status import ExecutionStatus
from reconciler.logic import ReconcilerPorts, reconcile_stopped_task
from reconciler.settings import ReconcilerSettings
from reconciler_builders import URN, container, detail


class FakeGms:
    """Answers reads from a script (last answer repeats) and records writes."""

    def __init__(self, *reads: ExecutionRequestResult | Exception | None) -> None:
        self.reads = list(reads) or [None]
        self.writes: list[tuple[str, ExecutionRequestResult]] = []

    def read_result(self, urn: str) -> ExecutionRequestResult | None:
        answer = self.reads.pop(0) if len(self.reads) > 1 else self.reads[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def write_result(self, urn: str, result: ExecutionRequestResult) -> None:
        self.writes.append((urn, result))


class FakeLogs:
    def tail(self, group: str, stream: str, lines: int) -> list[str]:
        return [f"{stream} line {i}" for i in range(3)]


def _ports(gms: FakeGms, **settings) -> ReconcilerPorts:
    values = {"ecs_cluster": "datahub-remote-executor", "datahub_gms_url": "http://gms/gms", "log_group_name": "g"}
    values.update(settings)
    return ReconcilerPorts(settings=ReconcilerSettings(**values), gms=gms, logs=FakeLogs())  # type: ignore[arg-type]


RUNNING = ExecutionRequestResult(status=ExecutionStatus.RUNNING, startTimeMs=1_000)
SUCCESS = ExecutionRequestResult(status=ExecutionStatus.SUCCESS, report="done")


def test_logic_writes_failure_keeping_start_and_timing_the_task():
    gms = FakeGms(RUNNING)
    case = detail(
        containers=[container(exit_code=137)], startedAt="2026-11-26T08:00:00Z", stoppedAt="2026-11-26T08:10:00Z"
    )

    outcome = reconcile_stopped_task(case, _ports(gms))

    assert outcome.action == "written"
    ((urn, result),) = gms.writes
    assert urn == URN
    assert result.status == ExecutionStatus.FAILURE
    assert result.startTimeMs == 1_000
    assert result.durationMs == 600_000
    assert "runs/runner/0123456789abcdef0123456789abcdef line 2" in (result.report or "")


def test_logic_runner_reporting_during_diagnosis_wins():
    # GIVEN GMS shows RUNNING at first, then the runner's SUCCESS lands before our write
    gms = FakeGms(RUNNING, SUCCESS)

    outcome = reconcile_stopped_task(detail(), _ports(gms))

    assert outcome.action == "skipped"
    assert gms.writes == []


def test_logic_clean_exit_is_deferred_for_a_late_report_not_slept_on():
    gms = FakeGms(RUNNING)

    outcome = reconcile_stopped_task(
        detail(containers=[container(exit_code=0)]), _ports(gms, report_grace_seconds=7), may_defer=True
    )

    assert (outcome.action, outcome.why) == ("deferred", "looking again in 7 s")
    assert gms.writes == []


@pytest.mark.parametrize(("may_defer", "grace"), [(False, 7), (True, 0)])
def test_logic_clean_exit_with_no_report_says_so(may_defer, grace):
    # GIVEN the event was already delayed once (or there is no grace): the runner's status never came
    gms = FakeGms(RUNNING)

    reconcile_stopped_task(
        detail(containers=[container(exit_code=0)]), _ports(gms, report_grace_seconds=grace), may_defer=may_defer
    )

    ((_, result),) = gms.writes
    assert "never reached DataHub" in (result.report or "")


@pytest.mark.parametrize(
    ("case", "why"),
    [
        (detail(last_status="RUNNING"), "not STOPPED"),
        (detail(clusterArn="arn:aws:ecs:us-east-1:1:cluster/other"), "cluster other"),
        (detail(clusterArn=None), "cluster (none given)"),
        (detail(urn=None, startedBy=None, group="family:x", containers=[container("app")]), "not launched"),
    ],
)
def test_logic_ignores_what_is_not_a_stopped_run_of_this_cluster(case, why):
    gms = FakeGms(RUNNING)

    outcome = reconcile_stopped_task(case, _ports(gms))

    assert outcome.action == "ignored"
    assert why in outcome.why
    assert gms.writes == []


def test_logic_gms_down_propagates_so_the_event_comes_back():
    gms = FakeGms(GmsError("GMS answered HTTP 503", status_code=503))

    with pytest.raises(GmsError):
        reconcile_stopped_task(detail(), _ports(gms))


def test_logic_started_by_fallback_only_writes_for_a_run_datahub_knows():
    # GIVEN no override URN: the run is found through startedBy, which may be a sanitized id
    unknown, known = FakeGms(None), FakeGms(RUNNING)
    case = detail(urn=None, startedBy="run-1", group="ingestion:src")

    assert reconcile_stopped_task(case, _ports(unknown)).action == "ignored"
    assert reconcile_stopped_task(case, _ports(known)).action == "written"
    assert unknown.writes == []
    assert known.writes[0][0] == URN
