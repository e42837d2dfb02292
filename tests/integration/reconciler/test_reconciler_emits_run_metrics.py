"""The reconciler emits the per-run EMF metrics for every stopped run of ours, reported or not."""

from __future__ import annotations

import json

import pytest
from reconciler_stack import sqs_batch

from tests.conftest import load_event


def _urn(event: dict) -> str:
    env = event["detail"]["overrides"]["containerOverrides"][0]["environment"]
    return next(pair["value"] for pair in env if pair["name"] == "EXECUTOR_EXECUTION_REQUEST_URN")


def _emf(stdout: str) -> dict[str, dict]:
    """EMF documents printed by the handler, by metric name."""
    found = {}
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            doc = json.loads(line)
            for metric in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                found[metric["Name"]] = doc
    return found


def _value(doc: dict, name: str) -> float:
    value = doc[name]
    return value[0] if isinstance(value, list) else value


def test_reconciler_runner_reported_run_emits_cost_by_source_and_status(reconciler_stack, capsys):
    # GIVEN a run the runner reported SUCCESS for
    event = load_event("ecs_task_stopped_after_success.json")
    reconciler_stack.gms.seed_result(_urn(event), {"status": "SUCCESS", "report": "done", "startTimeMs": 1})

    # WHEN its STOPPED event arrives through the SQS buffer
    response = reconciler_stack.invoke(sqs_batch(event))

    # THEN nothing is written, and the metrics count it by status and price it by source
    assert response == {"batchItemFailures": []}
    metrics = _emf(capsys.readouterr().out)
    assert metrics["RunsFinished"]["Status"] == "SUCCESS"
    cost = metrics["RunCostUsd"]
    assert cost["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "DataHubRemoteExecutor"
    assert cost["Source"] == event["detail"]["group"].removeprefix("ingestion:")
    assert _value(cost, "RunCostUsd") > 0
    assert _value(metrics["RunDurationSeconds"], "RunDurationSeconds") > 0


@pytest.mark.parametrize("prices", ["0.08096,0.00889,0.000222"])
def test_reconciler_price_table_parameter_changes_the_cost(reconciler_stack, capsys, monkeypatch, prices):
    from reconciler.settings import get_settings

    event = load_event("ecs_task_stopped_after_success.json")
    reconciler_stack.gms.seed_result(_urn(event), {"status": "SUCCESS", "report": "done", "startTimeMs": 1})
    reconciler_stack.invoke(event)
    default_cost = _value(_emf(capsys.readouterr().out)["RunCostUsd"], "RunCostUsd")

    # WHEN the stack's price table doubles every price
    monkeypatch.setenv("FARGATE_PRICES", prices)
    get_settings.cache_clear()
    from reconciler.handler import get_ports

    get_ports.cache_clear()
    reconciler_stack.invoke(event)
    assert _value(_emf(capsys.readouterr().out)["RunCostUsd"], "RunCostUsd") == pytest.approx(
        2 * default_cost, abs=2e-6
    )


def test_reconciler_duplicate_of_its_own_write_is_not_measured_twice(reconciler_stack, capsys):
    # GIVEN a run whose task ran out of memory: the reconciler writes its FAILURE
    event = load_event("ecs_task_stopped_oom.json")
    reconciler_stack.gms.seed_result(_urn(event), {"status": "RUNNING", "report": "", "startTimeMs": 1})
    reconciler_stack.invoke(event)
    first = _emf(capsys.readouterr().out)
    assert first["RunsFinished"]["Status"] == "FAILURE"

    # WHEN EventBridge delivers the same event again
    reconciler_stack.invoke(event)

    # THEN the run is not counted or priced again
    assert "RunsFinished" not in _emf(capsys.readouterr().out)
