"""Overlapping runs of one ingestion source (issue 14 item 2): allow, skip, queue, replace.

Each run below comes from events/run_ingest.json, so all share one ingestion source (a scheduled and a
manual run of a source carry the same source URN); the policy is the source's extra env var
EXECUTOR_OVERLAP_POLICY or the stack's OVERLAP_POLICY.
"""

from __future__ import annotations

from dispatcher_helpers import configure, failed_ids, run_body, urn_of
from dispatcher_queue import command_queue as command_queue  # the fixture
from dispatcher_slots import stop_and_reconcile

POLICY = "EXECUTOR_OVERLAP_POLICY"


def _launch_first(stack, queue, policy: str) -> str:
    """GIVEN a run of the source already going."""
    queue.handle(stack, queue.deliver(run_body("first", env={POLICY: policy})))
    (task,) = stack.tasks()
    return task["taskArn"]


def test_handler_skip_policy_ends_the_new_run_naming_the_one_still_going(dispatcher_stack, command_queue):
    _launch_first(dispatcher_stack, command_queue, "skip")

    # WHEN a second run of the source arrives with EXECUTOR_OVERLAP_POLICY=skip
    response = command_queue.handle(dispatcher_stack, command_queue.deliver(run_body("second", env={POLICY: "skip"})))

    # THEN it ends at once as DUPLICATE, saying which run is still going; nothing launched, nothing queued
    assert failed_ids(response) == []
    result = dispatcher_stack.gms.result(urn_of("second"))
    assert result["status"] == "DUPLICATE"
    assert urn_of("first") in result["report"] and "EXECUTOR_OVERLAP_POLICY=skip" in result["report"]
    assert len(dispatcher_stack.tasks()) == 1
    assert command_queue.all_messages() == []


def test_handler_queue_policy_waits_for_the_running_one_then_launches(dispatcher_stack, command_queue, monkeypatch):
    # GIVEN the stack's default is queue, checked every second
    configure(monkeypatch, OVERLAP_POLICY="queue", WAIT_CHECK_SECONDS="1")
    first_arn = _launch_first(dispatcher_stack, command_queue, "queue")

    # WHEN a second run of the source arrives (no policy of its own: the stack's applies)
    response = command_queue.handle(dispatcher_stack, command_queue.deliver(run_body("second")))

    # THEN it waits, PENDING, naming the run it waits for
    assert failed_ids(response) == []
    result = dispatcher_stack.gms.result(urn_of("second"))
    assert result["status"] == "PENDING"
    assert urn_of("first") in result["report"]
    assert len(dispatcher_stack.tasks()) == 1

    # WHEN the first run ends (the reconciler frees the source's lease) and the second comes back, THEN it launches
    stop_and_reconcile(dispatcher_stack.ecs, first_arn)
    command_queue.handle(dispatcher_stack, command_queue.receive_event(wait_seconds=3))
    assert dispatcher_stack.gms.result(urn_of("second"))["status"] == "RUNNING"
    assert command_queue.all_messages() == []


def test_handler_replace_policy_cancels_the_running_one_and_launches(dispatcher_stack, command_queue):
    first_arn = _launch_first(dispatcher_stack, command_queue, "replace")

    # WHEN a second run of the source arrives with EXECUTOR_OVERLAP_POLICY=replace
    response = command_queue.handle(
        dispatcher_stack, command_queue.deliver(run_body("second", env={POLICY: "replace"}))
    )

    # THEN the first task is stopped with a cancel reason naming its replacement, and the second runs
    assert failed_ids(response) == []
    tasks = {task["taskArn"]: task for task in dispatcher_stack.tasks()}
    assert tasks[first_arn]["desiredStatus"] == "STOPPED"
    assert tasks[first_arn]["stoppedReason"].startswith("Cancelled in DataHub")
    assert urn_of("second") in tasks[first_arn]["stoppedReason"]
    assert dispatcher_stack.gms.result(urn_of("second"))["status"] == "RUNNING"


def test_handler_allow_policy_of_a_source_beats_the_stacks_skip(dispatcher_stack, command_queue, monkeypatch):
    configure(monkeypatch, OVERLAP_POLICY="skip")
    _launch_first(dispatcher_stack, command_queue, "allow")

    command_queue.handle(dispatcher_stack, command_queue.deliver(run_body("second", env={POLICY: "allow"})))

    assert len(dispatcher_stack.tasks()) == 2


def test_handler_unknown_overlap_policy_is_a_failure_naming_the_values(dispatcher_stack, command_queue):
    response = command_queue.handle(dispatcher_stack, command_queue.deliver(run_body("bad", env={POLICY: "sometimes"})))

    assert failed_ids(response) == []
    result = dispatcher_stack.gms.result(urn_of("bad"))
    assert result["status"] == "FAILURE"
    assert "EXECUTOR_OVERLAP_POLICY: 'sometimes' is not one of allow, skip, queue, replace" in result["report"]
    assert dispatcher_stack.tasks() == []
