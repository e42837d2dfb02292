"""Spot with an on-demand fallback (issue 14 item 3): FARGATE_SPOT_WITH_FALLBACK launches on Spot; when Spot
has no capacity the run launches on on-demand Fargate at once; a source may opt in with
EXECUTOR_CAPACITY_PROVIDER.

ECS's "no Spot capacity" answer is a RunTask failure moto cannot produce: the ECS client answers it for
Spot requests and passes every other request on to moto, which starts a real (moto) task.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from dispatcher_helpers import CLUSTER, env_of, failed_ids, run_body, sqs_event, urn_of
from dispatcher_queue import command_queue as command_queue  # the fixture

NO_SPOT = {"tasks": [], "failures": [{"reason": "Capacity is unavailable at this time. Please try again later."}]}


def _configure(stack: Any, monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    from dispatcher.handler import dependencies
    from dispatcher.settings import get_settings

    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    dependencies.cache_clear()
    stack.ecs.put_cluster_capacity_providers(
        cluster=CLUSTER, capacityProviders=["FARGATE", "FARGATE_SPOT"], defaultCapacityProviderStrategy=[]
    )


def _spot_has_no_capacity(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    from dispatcher.handler import dependencies

    client = dependencies().ecs.client
    original = client.run_task
    requests: list[dict[str, Any]] = []

    def run_task(**request: Any) -> dict[str, Any]:
        requests.append(request)
        if any(s["capacityProvider"] == "FARGATE_SPOT" for s in request.get("capacityProviderStrategy", [])):
            return NO_SPOT
        return original(**request)

    monkeypatch.setattr(client, "run_task", run_task)
    return requests


def test_handler_spot_with_fallback_launches_on_demand_at_once_when_spot_has_no_capacity(dispatcher_stack, monkeypatch):
    # GIVEN the stack launches on Spot with fallback, and Spot has no capacity
    _configure(dispatcher_stack, monkeypatch, CAPACITY_PROVIDER="FARGATE_SPOT_WITH_FALLBACK")
    requests = _spot_has_no_capacity(monkeypatch)

    # WHEN a run arrives
    response = dispatcher_stack.invoke(sqs_event(run_body("spot-fallback")))

    # THEN it asked Spot first, then launched on on-demand in the same invocation: RUNNING, no retry
    assert failed_ids(response) == []
    assert [("launchType" in r, "capacityProviderStrategy" in r) for r in requests] == [(False, True), (True, False)]
    (task,) = dispatcher_stack.tasks()
    assert task["launchType"] == "FARGATE"
    assert dispatcher_stack.gms.result(urn_of("spot-fallback"))["status"] == "RUNNING"


def test_handler_plain_spot_without_capacity_waits_instead(dispatcher_stack, command_queue, monkeypatch):
    # GIVEN plain FARGATE_SPOT (no fallback) and no Spot capacity
    _configure(dispatcher_stack, monkeypatch, CAPACITY_PROVIDER="FARGATE_SPOT")
    requests = _spot_has_no_capacity(monkeypatch)

    response = command_queue.handle(dispatcher_stack, command_queue.deliver(run_body("spot-only")))

    # THEN nothing launches on on-demand (one RunTask); the run waits for Spot, PENDING, and is not failed
    assert len(requests) == 1
    assert dispatcher_stack.tasks() == []
    assert failed_ids(response) == []
    assert dispatcher_stack.gms.result(urn_of("spot-only"))["status"] == "PENDING"
    assert len(command_queue.all_messages()) == 1


def test_handler_source_opts_in_to_spot_with_fallback(dispatcher_stack, monkeypatch):
    # GIVEN an on-demand stack and a source that sets EXECUTOR_CAPACITY_PROVIDER=FARGATE_SPOT_WITH_FALLBACK
    _configure(dispatcher_stack, monkeypatch, CAPACITY_PROVIDER="FARGATE")
    env = {"EXECUTOR_CAPACITY_PROVIDER": "FARGATE_SPOT_WITH_FALLBACK"}

    dispatcher_stack.invoke(sqs_event(run_body("spot-opt-in", env=env)))

    # THEN its run launches on Spot, marked for the reconciler, and the setting is not passed to the ingestion
    (task,) = dispatcher_stack.tasks()
    assert task["capacityProviderName"] == "FARGATE_SPOT"
    container_env = env_of(task)
    assert container_env["EXECUTOR_CAPACITY_PROVIDER"] == "FARGATE_SPOT_WITH_FALLBACK"
    assert "EXECUTOR_CAPACITY_PROVIDER" not in json.loads(container_env["EXECUTOR_RUN_SPEC"]).get("extra_env_vars", {})


def test_handler_unknown_capacity_provider_of_a_source_is_a_failure(dispatcher_stack, monkeypatch):
    _configure(dispatcher_stack, monkeypatch)

    dispatcher_stack.invoke(sqs_event(run_body("bad-capacity", env={"EXECUTOR_CAPACITY_PROVIDER": "EC2"})))

    result = dispatcher_stack.gms.result(urn_of("bad-capacity"))
    assert result["status"] == "FAILURE"
    assert (
        "EXECUTOR_CAPACITY_PROVIDER: 'EC2' is not one of FARGATE, FARGATE_SPOT, FARGATE_SPOT_WITH_FALLBACK"
        in (result["report"])
    )
    assert dispatcher_stack.tasks() == []


def test_handler_on_demand_rerun_of_an_interrupted_spot_run_launches_once(dispatcher_stack, monkeypatch):
    # GIVEN a Spot-with-fallback run launched on Spot (its task says so in its env, for the reconciler)
    _configure(dispatcher_stack, monkeypatch, CAPACITY_PROVIDER="FARGATE_SPOT_WITH_FALLBACK")
    dispatcher_stack.invoke(sqs_event(run_body("rerun-me")))
    (spot_task,) = dispatcher_stack.tasks()
    assert spot_task["capacityProviderName"] == "FARGATE_SPOT"
    assert env_of(spot_task)["EXECUTOR_CAPACITY_PROVIDER"] == "FARGATE_SPOT_WITH_FALLBACK"
    # AND AWS reclaimed it; the reconciler wrote PENDING and sent the request back, on on-demand
    dispatcher_stack.ecs.stop_task(cluster=CLUSTER, task=spot_task["taskArn"], reason="Spot interruption")
    dispatcher_stack.gms.seed_result(
        urn_of("rerun-me"), {"status": "PENDING", "report": "Re-running", "startTimeMs": 1}
    )
    env = {"EXECUTOR_CAPACITY_PROVIDER": "FARGATE", "EXECUTOR_RERUN_OF": spot_task["taskArn"]}

    # WHEN the re-run message arrives, twice (SQS delivers at least once)
    for _ in range(2):
        assert failed_ids(dispatcher_stack.invoke(sqs_event(run_body("rerun-me", env=env)))) == []

    # THEN one new task runs, on on-demand, for the same execution request, which DataHub shows RUNNING
    (rerun,) = [t for t in dispatcher_stack.tasks() if t["taskArn"] != spot_task["taskArn"]]
    assert rerun["launchType"] == "FARGATE"
    assert env_of(rerun)["EXECUTOR_EXECUTION_REQUEST_URN"] == urn_of("rerun-me")
    result = dispatcher_stack.gms.result(urn_of("rerun-me"))
    assert result["status"] == "RUNNING"
    assert f"re-run on on-demand Fargate: the Fargate Spot task {spot_task['taskArn']}" in result["report"]
