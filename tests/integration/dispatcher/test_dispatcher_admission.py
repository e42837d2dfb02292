"""Admission control (issue 14 item 1): over the stack's limit, or with no room at RunTask, a run waits.

Waiting = consumed now, sent back with a delay carrying `waitingSince`, PENDING in DataHub with the reason;
never a FAILURE, never a batch item failure (so never the DLQ), until MAX_WAIT_SECONDS.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.stub import Stubber
from dispatcher_helpers import configure as _configure
from dispatcher_helpers import failed_ids, run_body, urn_of
from dispatcher_queue import command_queue as command_queue  # the fixture
from dispatcher_slots import stop_and_reconcile


def _waiting_since(message: Any) -> int:
    attribute = message.message_attributes["waitingSince"]
    return int(attribute.get("string_value") or attribute["StringValue"])


def test_handler_run_over_max_concurrent_runs_waits_pending_and_launches_when_room(
    dispatcher_stack, command_queue, monkeypatch
):
    # GIVEN a stack limited to 2 concurrent runs, checking a waiting run every second
    _configure(monkeypatch, MAX_CONCURRENT_RUNS="2", WAIT_CHECK_SECONDS="1")
    for name in ("adm-1", "adm-2", "adm-3"):
        command_queue.send(run_body(name))

    # WHEN three runs arrive in one batch
    response = command_queue.handle(dispatcher_stack, command_queue.receive_event())

    # THEN two launch, the third is consumed (no batch item failure) and waits, PENDING with the reason
    assert failed_ids(response) == []
    assert len(dispatcher_stack.tasks()) == 2
    statuses = {name: dispatcher_stack.gms.result(urn_of(name))["status"] for name in ("adm-1", "adm-2", "adm-3")}
    waiting = [name for name, status in statuses.items() if status == "PENDING"]
    assert len(waiting) == 1 and sorted(statuses.values()) == ["PENDING", "RUNNING", "RUNNING"]
    report = dispatcher_stack.gms.result(urn_of(waiting[0]))["report"]
    assert "2 runs are running, the stack's limit is 2 (MaxConcurrentRuns)" in report
    assert "runs are waiting" in report
    (requeued,) = command_queue.all_messages()
    assert urn_of(waiting[0]) in requeued.body
    since = _waiting_since(requeued)

    # WHEN it comes back while both still run, it waits again, keeping the time it started waiting
    event = command_queue.receive_event(wait_seconds=3)
    assert failed_ids(command_queue.handle(dispatcher_stack, event)) == []
    (requeued,) = command_queue.all_messages()
    assert _waiting_since(requeued) == since
    assert len(dispatcher_stack.tasks()) == 2

    # WHEN one run ends and the waiting run comes back
    stop_and_reconcile(dispatcher_stack.ecs, dispatcher_stack.tasks()[0]["taskArn"])  # its slot is freed as on AWS
    event = command_queue.receive_event(wait_seconds=3)
    response = command_queue.handle(dispatcher_stack, event)

    # THEN it launches: RUNNING, and nothing is left in the queue
    assert failed_ids(response) == []
    assert dispatcher_stack.gms.result(urn_of(waiting[0]))["status"] == "RUNNING"
    assert command_queue.all_messages() == []


def test_handler_run_over_max_concurrent_vcpus_waits(dispatcher_stack, command_queue, monkeypatch):
    # GIVEN a limit of 1.5 vCPUs and runs of 1 vCPU (the stack's default size)
    _configure(monkeypatch, MAX_CONCURRENT_VCPUS="1.5")
    command_queue.handle(dispatcher_stack, command_queue.deliver(run_body("vcpu-1")))

    # WHEN a second run arrives
    response = command_queue.handle(dispatcher_stack, command_queue.deliver(run_body("vcpu-2")))

    # THEN it waits for the first one's vCPU
    assert failed_ids(response) == []
    assert len(dispatcher_stack.tasks()) == 1
    result = dispatcher_stack.gms.result(urn_of("vcpu-2"))
    assert result["status"] == "PENDING"
    assert "1 vCPUs are in use and this run needs 1; the stack's limit is 1.5 (MaxConcurrentVcpus)" in result["report"]


CAPACITY = {
    "capacity-failure": lambda stub: stub.add_response(
        "run_task",
        {"tasks": [], "failures": [{"reason": "Capacity is unavailable at this time. Please try again later."}]},
    ),
    "vcpu-quota": lambda stub: stub.add_client_error(
        "run_task",
        service_error_code="ClientException",
        service_message="You've reached the limit on the number of vCPUs you can run concurrently",
    ),
}


@pytest.mark.parametrize("answer", CAPACITY.values(), ids=CAPACITY.keys())
def test_handler_no_room_at_runtask_waits_instead_of_failing(dispatcher_stack, command_queue, answer):
    from dispatcher.handler import dependencies

    # GIVEN RunTask answers that there is no room (Fargate capacity, the account's vCPU quota)
    event = command_queue.deliver(run_body("no-room"), receives=5)  # even on what would be the last attempt
    with Stubber(dependencies().ecs.client) as stub:
        answer(stub)
        response = command_queue.handle(dispatcher_stack, event)

    # THEN the run waits: consumed, sent back with its waiting time, PENDING (never FAILURE, never the DLQ)
    assert failed_ids(response) == []
    result = dispatcher_stack.gms.result(urn_of("no-room"))
    assert result["status"] == "PENDING"
    assert "Waiting to launch since" in result["report"]
    (requeued,) = command_queue.all_messages()
    assert requeued.approximate_receive_count == 0  # a fresh message: its receives start again from zero


def test_handler_run_waiting_longer_than_max_wait_fails_telling_why(dispatcher_stack, command_queue, monkeypatch):
    from dispatcher.handler import dependencies

    # GIVEN a run that started waiting 25 hours ago (MAX_WAIT_SECONDS is 24 hours) and a full stack
    _configure(monkeypatch, MAX_CONCURRENT_RUNS="1")
    command_queue.handle(dispatcher_stack, command_queue.deliver(run_body("occupier")))
    since = int(time.time() * 1000) - 25 * 3600 * 1000
    command_queue.sqs.send_message(
        QueueUrl=command_queue.url,
        MessageBody=run_body("too-long"),
        MessageAttributes={"waitingSince": {"DataType": "String", "StringValue": str(since)}},
    )
    event = command_queue.receive_event()
    assert dependencies()  # the same container

    # WHEN it is checked again and there is still no room
    response = command_queue.handle(dispatcher_stack, event)

    # THEN it ends: FAILURE saying how long it waited and why, and nothing is sent back
    assert failed_ids(response) == []
    result = dispatcher_stack.gms.result(urn_of("too-long"))
    assert result["status"] == "FAILURE"
    assert "waited 1500 minutes for room and gave up" in result["report"]
    assert "the stack's limit is 1 (MaxConcurrentRuns)" in result["report"]
    assert command_queue.all_messages() == []
