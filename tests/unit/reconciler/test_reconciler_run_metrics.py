"""The per-run metrics the reconciler emits from a STOPPED task (cost, duration, time to RUNNING, status)."""

from __future__ import annotations

import pytest
from executor_common.cost import PriceTable
from executor_common.ecs_task import TaskDetail
from reconciler.run_metrics import run_metrics

from tests.conftest import load_event

PRICES = PriceTable.parse()
SOURCE = (("Source", "7f3d2c1b-9a8e-4f6d-b5c4-3a2b1c0d9e8f"),)


def _detail(name: str, **changes: object) -> TaskDetail:
    detail = load_event(name)["detail"] | changes
    return TaskDetail.model_validate(detail)


def _points(detail: TaskDetail, status: str | None = "FAILURE") -> dict[str, tuple[float, tuple]]:
    return {p.name: (p.value, p.dimensions) for p in run_metrics(detail, status, PRICES)}


def test_run_metrics_oom_task_bills_from_image_pull_to_stop():
    points = _points(_detail("ecs_task_stopped_oom.json"))
    # 08:00:05.230 (pull started) -> 08:41:35.870 (stopped): 2490.64 s of 1 vCPU, 4 GB, 1 GiB over 20
    assert points["RunDurationSeconds"] == (pytest.approx(2490.64), SOURCE)
    assert points["RunCostUsd"] == (pytest.approx(0.040384, abs=1e-6), SOURCE)
    assert points["TimeToRunningSeconds"][0] == pytest.approx(24.384)
    assert points["RunsFinished"] == (1, (("Status", "FAILURE"),))


def test_run_metrics_spot_task_costs_the_spot_factor_of_on_demand():
    spot = _points(_detail("ecs_task_stopped_spot.json"))["RunCostUsd"][0]
    on_demand = _points(_detail("ecs_task_stopped_spot.json", capacityProviderName="FARGATE"))["RunCostUsd"][0]
    assert spot == pytest.approx(on_demand * 0.3, abs=2e-6)


def test_run_metrics_task_that_never_started_bills_from_creation_without_time_to_running():
    points = _points(_detail("ecs_task_failed_to_start.json"))
    assert points["RunDurationSeconds"][0] == pytest.approx(192.413)
    assert "TimeToRunningSeconds" not in points


def test_run_metrics_without_size_or_status_still_counts_the_run():
    detail = _detail("ecs_task_stopped_oom.json", cpu=None, memory=None, group=None, overrides={})
    points = _points(detail, status=None)
    assert points["RunsFinished"] == (1, (("Status", "UNKNOWN"),))
    assert "RunCostUsd" not in points
