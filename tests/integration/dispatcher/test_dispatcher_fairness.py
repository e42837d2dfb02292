"""Fairness (issue 14 item 1): launch order is first come, first served across sources, and one source's
burst cannot starve another; a new run does not overtake runs waiting for room.

Through the real handler, the command queue in moto and the waiting line in the run bucket.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from dispatcher_helpers import BUCKET, failed_ids, run_body, urn_of
from dispatcher_queue import command_queue as command_queue  # the fixture
from dispatcher_slots import stop_and_reconcile

SOURCE_A = "urn:li:dataHubIngestionSource:burst-a"
SOURCE_B = "urn:li:dataHubIngestionSource:quiet-b"


def _configure(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    from dispatcher.handler import dependencies
    from dispatcher.settings import get_settings

    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    dependencies.cache_clear()


def _run_of(source: str, execution_id: str) -> str:
    body = json.loads(run_body(execution_id))
    body["aspect"]["source"]["ingestionSource"] = source
    return json.dumps(body)


def _status(stack: Any, execution_id: str) -> str | None:
    return (stack.gms.result(urn_of(execution_id)) or {}).get("status")


def _handle_until(stack: Any, queue: Any, done: Any, rounds: int = 40) -> None:
    """Receive and handle what comes back, as Lambda's poller would, until `done()` or `rounds` receives."""
    for _ in range(rounds):
        if done():
            return
        event = queue.receive_event(wait_seconds=1)
        if event["Records"]:
            assert failed_ids(queue.handle(stack, event)) == []
    assert done()


def _line(stack: Any) -> list[str]:
    return [item["Key"] for item in stack.s3.list_objects_v2(Bucket=BUCKET, Prefix="waiting/").get("Contents", [])]


def test_quiet_source_is_not_starved_by_another_sources_burst(dispatcher_stack, command_queue, monkeypatch):
    # GIVEN a limit of 5 runs, and source A's burst of 50 runs: 5 launch, 45 wait in line
    _configure(monkeypatch, MAX_CONCURRENT_RUNS="5", WAIT_CHECK_SECONDS="1")
    a_runs = [f"a-{i:02d}" for i in range(50)]
    for execution_id in a_runs:
        command_queue.send(_run_of(SOURCE_A, execution_id))
    _handle_until(dispatcher_stack, command_queue, lambda: all(_status(dispatcher_stack, r) for r in a_runs))
    assert len(dispatcher_stack.tasks()) == 5
    assert len(_line(dispatcher_stack)) == 45

    # WHEN source B sends one run, then two of A's runs end
    command_queue.send(_run_of(SOURCE_B, "b-00"))
    _handle_until(dispatcher_stack, command_queue, lambda: _status(dispatcher_stack, "b-00") == "PENDING")
    assert "Place in line: 2" in dispatcher_stack.gms.result(urn_of("b-00"))["report"]  # behind A's oldest only
    for task in dispatcher_stack.tasks()[:2]:
        stop_and_reconcile(dispatcher_stack.ecs, task["taskArn"])  # its slot is freed as on AWS
    a_running_before = {r for r in a_runs if _status(dispatcher_stack, r) == "RUNNING"}
    _handle_until(dispatcher_stack, command_queue, lambda: _status(dispatcher_stack, "b-00") == "RUNNING")

    # THEN B's run launched in the first two free slots, not after A's 45 waiting runs: the other slot went to
    # A's run that had waited longest, and the limit held
    newly_running_a = {r for r in a_runs if _status(dispatcher_stack, r) == "RUNNING"} - a_running_before
    running = [t for t in dispatcher_stack.tasks() if t["lastStatus"] != "STOPPED" and t["desiredStatus"] != "STOPPED"]
    assert len(running) == 5
    assert len(newly_running_a) <= 1
    assert len(_line(dispatcher_stack)) == 44  # B left the line when it launched; A's 44 still hold theirs
    (message,) = [m for m in command_queue.all_messages() if "a-" in m.body][:1]
    assert message.group_id == SOURCE_A  # waiting runs go back to the queue under their source's fair-queue group


def test_new_run_does_not_overtake_a_run_waiting_for_room(dispatcher_stack, command_queue, monkeypatch):
    # GIVEN a limit of 2: X1 and X2 run, X3 waits (checked again in about 5 s)
    _configure(monkeypatch, MAX_CONCURRENT_RUNS="2", WAIT_CHECK_SECONDS="5")
    for execution_id in ("x-1", "x-2", "x-3"):
        command_queue.send(_run_of(SOURCE_A, execution_id))
    command_queue.handle(dispatcher_stack, command_queue.receive_event())
    assert [_status(dispatcher_stack, r) for r in ("x-1", "x-2", "x-3")].count("PENDING") == 1
    waiting = next(r for r in ("x-1", "x-2", "x-3") if _status(dispatcher_stack, r) == "PENDING")

    # WHEN a slot frees, and before X3's next check a new run of another source arrives
    running = next(t for t in dispatcher_stack.tasks() if waiting not in json.dumps(t.get("tags", [])))
    stop_and_reconcile(dispatcher_stack.ecs, running["taskArn"])  # its slot is freed as on AWS
    response = command_queue.handle(dispatcher_stack, command_queue.deliver(_run_of(SOURCE_B, "y-1")))

    # THEN the new run joins the wait behind it, saying why, and the waiting run takes the slot when it comes back
    assert failed_ids(response) == []
    assert _status(dispatcher_stack, "y-1") == "PENDING"
    assert (
        "1 run waiting longer is ahead of it for the 1 free slot"
        in dispatcher_stack.gms.result(urn_of("y-1"))["report"]
    )
    started = time.monotonic()
    _handle_until(dispatcher_stack, command_queue, lambda: _status(dispatcher_stack, waiting) == "RUNNING")
    assert _status(dispatcher_stack, "y-1") == "PENDING"
    assert time.monotonic() - started < 15
