"""Run slots (issue 14 item 1): MaxConcurrentRuns is exact across dispatcher containers running in parallel.

Each container (its own adapters, as a cold start builds them) runs the real record handler on batches it
receives from the command queue, all at once; tasks end as on AWS (ECS stops them, the reconciler's handler
gets the STOPPED event and frees the slot); the backstop's handler frees slots no live task holds.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from dispatcher_helpers import BUCKET, REGION, configure, failed_ids, run_body, urn_of
from dispatcher_queue import command_queue as command_queue  # the fixture
from dispatcher_slots import CONTAINERS, burst_on_containers, stop_and_reconcile

from tests.support.aws_harness import lambda_context

LIMIT = 3
RUNS = 24


def _slots(stack: Any) -> dict[int, dict[str, Any]]:
    """The slot objects in the run bucket: index -> body."""
    listed = stack.s3.list_objects_v2(Bucket=BUCKET, Prefix="slots/").get("Contents", [])
    return {
        int(item["Key"].split("/")[1]): json.loads(stack.s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())
        for item in listed
    }


def _env(task: dict[str, Any], name: str) -> str | None:
    for container in task.get("overrides", {}).get("containerOverrides", []):
        for pair in container.get("environment", []):
            if pair["name"] == name:
                return str(pair["value"])
    return None


def _burst_on_containers(
    stack: Any, queue: Any, monkeypatch: pytest.MonkeyPatch, *, lease: bool, prefix: str
) -> tuple[int, list[str]]:
    """RUNS runs through CONTAINERS containers at once, tasks ending as they run; (most RUNNING seen, launched)."""
    bodies = [run_body(f"{prefix}-{index}") for index in range(RUNS)]
    without = () if lease else ("slots",)  # the control: ListTasks alone, as before the slots
    return burst_on_containers(
        stack, queue, monkeypatch, bodies, without=without, MAX_CONCURRENT_RUNS=str(LIMIT), WAIT_CHECK_SECONDS="1"
    )


def test_parallel_dispatchers_never_run_more_than_the_limit_and_launch_every_run_once(
    dispatcher_stack, command_queue, monkeypatch
):
    # GIVEN MaxConcurrentRuns 3, five dispatcher containers at once, and a burst of 24 runs
    most_running, launched = _burst_on_containers(dispatcher_stack, command_queue, monkeypatch, lease=True, prefix="p")

    # THEN ECS never had more than 3 tasks to run, every run launched exactly once, and no slot is left held
    print(f"\n{CONTAINERS} containers, limit {LIMIT}: at most {most_running} running; {len(launched)} launched")
    assert most_running <= LIMIT
    assert sorted(launched) == sorted(f"p-{i}" for i in range(RUNS))
    assert _slots(dispatcher_stack) == {}
    assert command_queue.all_messages() == []
    assert all(dispatcher_stack.gms.result(urn_of(f"p-{i}"))["status"] == "FAILURE" for i in range(RUNS))  # ended


def test_control_without_the_slots_parallel_dispatchers_can_pass_the_limit(
    dispatcher_stack, command_queue, monkeypatch
):
    """The same burst on ListTasks alone: what the slots prevent (skipped when this machine happens not to race)."""
    most_running, launched = _burst_on_containers(dispatcher_stack, command_queue, monkeypatch, lease=False, prefix="c")
    assert sorted(launched) == sorted(f"c-{i}" for i in range(RUNS))
    if most_running <= LIMIT:
        pytest.skip("the containers did not happen to race this time")
    print(f"\nwithout slots: at most {most_running} running against a limit of {LIMIT}")


def test_each_task_carries_its_slot_and_a_redelivery_claims_no_second_one(dispatcher_stack, command_queue, monkeypatch):
    # GIVEN a limit of 2 and one run launched
    configure(monkeypatch, MAX_CONCURRENT_RUNS="2")
    body = run_body("slot-1")
    assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(body))) == []
    (task,) = dispatcher_stack.tasks()
    index = int(_env(task, "EXECUTOR_SLOT") or "-1")
    assert _slots(dispatcher_stack)[index]["urn"] == urn_of("slot-1")

    # WHEN SQS delivers the same message again (its second receive), and DataHub sends it twice
    assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(body, receives=2))) == []
    assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(body))) == []

    # THEN no second task and no second slot: the run keeps the slot it holds
    assert len(dispatcher_stack.tasks()) == 1
    assert list(_slots(dispatcher_stack)) == [index]


def test_reconciler_frees_only_the_slot_that_still_names_its_run(dispatcher_stack, command_queue, monkeypatch):
    # GIVEN a limit of 2 and two runs launched, each holding a slot
    configure(monkeypatch, MAX_CONCURRENT_RUNS="2")
    for name in ("own-1", "own-2"):
        assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(run_body(name)))) == []
    tasks = {t["startedBy"]: t for t in dispatcher_stack.tasks()}
    slot_1 = int(_env(tasks["own-1"], "EXECUTOR_SLOT") or "-1")
    slot_2 = int(_env(tasks["own-2"], "EXECUTOR_SLOT") or "-1")
    assert {slot_1, slot_2} == {0, 1}

    # WHEN own-1's slot was freed meanwhile (the backstop) and claimed by another run, then own-1's STOPPED arrives
    key = f"slots/{slot_1}"
    dispatcher_stack.s3.delete_object(Bucket=BUCKET, Key=key)
    other = json.dumps({"urn": urn_of("other"), "startedBy": "other", "claimedAt": time.time()})
    dispatcher_stack.s3.put_object(Bucket=BUCKET, Key=key, Body=other.encode(), IfNoneMatch="*")
    stop_and_reconcile(dispatcher_stack.ecs, tasks["own-1"]["taskArn"])

    # THEN the other run keeps its slot
    assert _slots(dispatcher_stack)[slot_1]["urn"] == urn_of("other")

    # WHEN own-2's task stops
    stop_and_reconcile(dispatcher_stack.ecs, tasks["own-2"]["taskArn"])

    # THEN its own slot is free, and a late duplicate of that event frees nothing claimed since
    assert slot_2 not in _slots(dispatcher_stack)
    again = json.dumps({"urn": urn_of("next"), "startedBy": "next", "claimedAt": time.time()})
    dispatcher_stack.s3.put_object(Bucket=BUCKET, Key=f"slots/{slot_2}", Body=again.encode(), IfNoneMatch="*")
    stop_and_reconcile(dispatcher_stack.ecs, tasks["own-2"]["taskArn"])
    assert _slots(dispatcher_stack)[slot_2]["urn"] == urn_of("next")


def test_backstop_frees_a_stale_slot_and_keeps_live_and_fresh_ones(dispatcher_stack, command_queue, monkeypatch):
    from backstop import handler as backstop
    from backstop.settings import get_settings

    # GIVEN a limit of 3 and a run launched long ago (its slot's claim is old, its task lives)
    configure(monkeypatch, MAX_CONCURRENT_RUNS="3")
    assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(run_body("live-1")))) == []
    (task,) = dispatcher_stack.tasks()
    live = int(_env(task, "EXECUTOR_SLOT") or "-1")
    old = time.time() - 3600
    body = json.dumps({"urn": urn_of("live-1"), "startedBy": "live-1", "claimedAt": old})
    dispatcher_stack.s3.put_object(Bucket=BUCKET, Key=f"slots/{live}", Body=body.encode())
    # a slot claimed an hour ago by a dispatcher that died before RunTask, and one claimed seconds ago
    stale, fresh = [index for index in range(3) if index != live]
    for index, name, at in ((stale, "died-1", old), (fresh, "launching-1", time.time())):
        claim = json.dumps({"urn": urn_of(name), "startedBy": name, "claimedAt": at})
        dispatcher_stack.s3.put_object(Bucket=BUCKET, Key=f"slots/{index}", Body=claim.encode(), IfNoneMatch="*")

    # WHEN the backstop's schedule fires
    get_settings.cache_clear()
    backstop.get_ecs.cache_clear()
    backstop.get_slots.cache_clear()
    try:
        backstop.lambda_handler({}, lambda_context("BackstopFunction", REGION))
    finally:
        get_settings.cache_clear()
        backstop.get_ecs.cache_clear()
        backstop.get_slots.cache_clear()

    # THEN only the stale slot is free
    assert sorted(_slots(dispatcher_stack)) == sorted([live, fresh])


def test_without_a_limit_a_launch_makes_no_s3_call(dispatcher_stack, command_queue, monkeypatch):
    from dispatcher.handler import dependencies

    # GIVEN no MaxConcurrentRuns (nor vCPU limit), and every S3 call of the dispatcher counted
    configure(monkeypatch, MAX_CONCURRENT_RUNS="0", MAX_CONCURRENT_VCPUS="0")
    s3_calls: list[str] = []
    dependencies().s3.client.meta.events.register("before-call.s3", lambda model, **_: s3_calls.append(model.name))
    dispatcher_stack.ecs_calls.calls.clear()

    # WHEN a run launches
    assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(run_body("free-1")))) == []

    # THEN one ECS call (RunTask), no S3 call, no slot
    assert dispatcher_stack.gms.result(urn_of("free-1"))["status"] == "RUNNING"
    assert s3_calls == []
    assert dict(dispatcher_stack.ecs_calls.calls) == {"RunTask": 1}
    assert _slots(dispatcher_stack) == {}
