"""A small burst against a limit (issue 14's load figure, in the suite): every run launches exactly once, at no
moment do more than the limit run, none fails or reaches the DLQ, even with 30 % of RunTask calls refused
for capacity. Runs "end" between polls (their tasks are stopped), as a real fleet frees slots.
"""

from __future__ import annotations

import random
from typing import Any

from dispatcher_helpers import failed_ids, run_body, urn_of
from dispatcher_queue import command_queue as command_queue  # the fixture
from dispatcher_slots import stop_and_reconcile

RUNS = 20
LIMIT = 5


def _configure(monkeypatch: Any, **variables: str) -> None:
    from dispatcher.handler import dependencies
    from dispatcher.settings import get_settings

    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    dependencies.cache_clear()


def _refuse_some_for_capacity(monkeypatch: Any, share: float) -> None:
    from dispatcher.handler import dependencies

    client = dependencies().ecs.client
    original = client.run_task
    chance = random.Random(14)

    def run_task(**request: Any) -> dict[str, Any]:
        if chance.random() < share:
            return {
                "tasks": [],
                "failures": [{"reason": "Capacity is unavailable at this time. Please try again later."}],
            }
        return original(**request)

    monkeypatch.setattr(client, "run_task", run_task)


def test_burst_over_the_run_limit_launches_every_run_once_never_above_the_limit(
    dispatcher_stack, command_queue, monkeypatch
):
    _configure(monkeypatch, MAX_CONCURRENT_RUNS=str(LIMIT), WAIT_CHECK_SECONDS="1")
    _refuse_some_for_capacity(monkeypatch, 0.3)
    for index in range(RUNS):
        command_queue.send(run_body(f"burst-{index}"))

    most_running, polls = 0, 0
    while polls < 60:
        polls += 1
        event = command_queue.receive_event(wait_seconds=2)
        if not event["Records"]:
            if not command_queue.all_messages():
                break
            continue
        response = command_queue.handle(dispatcher_stack, event)
        assert failed_ids(response) == []  # waiting is never a failure
        running = [t for t in dispatcher_stack.tasks() if t["desiredStatus"] == "RUNNING"]
        most_running = max(most_running, len(running))
        for task in running[:2]:  # two runs end before the next poll
            stop_and_reconcile(dispatcher_stack.ecs, task["taskArn"])  # its slot is freed as on AWS

    tasks = dispatcher_stack.tasks()
    launched = sorted(t["startedBy"] for t in tasks)
    assert len(launched) == RUNS == len(set(launched))  # each run launched, once
    assert most_running <= LIMIT
    assert command_queue.all_messages() == []
    # every run launched: RUNNING, or ended (the reconciler's word on the stopped task), never left waiting
    stopped = {t["startedBy"] for t in tasks if t["desiredStatus"] == "STOPPED"}
    for index in range(RUNS):
        status = dispatcher_stack.gms.result(urn_of(f"burst-{index}"))["status"]
        assert status == ("FAILURE" if f"burst-{index}" in stopped else "RUNNING")
    print(f"burst: {RUNS} runs, limit {LIMIT}, at most {most_running} running, {polls} polls")
