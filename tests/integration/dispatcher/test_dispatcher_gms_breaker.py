"""The GMS circuit breaker never poisons a batch (issue 10 item 7): SQS batch in, failed item ids out."""

from __future__ import annotations

from dispatcher_helpers import SQLITE_RECIPE, failed_ids, run_body, sqs_event

#: Each GMS call is tried 3 times by the client's session before it reports a failure.
ATTEMPTS_PER_CALL = 3


def test_handler_one_gms_error_retries_only_its_own_record(dispatcher_stack):
    # GIVEN a batch of five runs, and GMS answering 500 to the first record's status read (all its attempts)
    event = sqs_event(*(run_body(f"breaker-{i}", SQLITE_RECIPE) for i in range(5)))
    dispatcher_stack.gms.fail_next(ATTEMPTS_PER_CALL, status=500)

    # WHEN the batch is handled
    response = dispatcher_stack.invoke(event)

    # THEN only that record comes back; the other four launch
    assert failed_ids(response) == [event["Records"][0]["messageId"]]
    assert len(dispatcher_stack.tasks()) == 4


def test_handler_failed_running_writes_do_not_open_the_breaker(dispatcher_stack):
    # GIVEN every RUNNING write (after launch) fails for the whole batch
    event = sqs_event(*(run_body(f"running-{i}", SQLITE_RECIPE) for i in range(4)))
    dispatcher_stack.gms.fail_next(100, status=503, path_contains="ingestProposal")

    # WHEN the batch is handled
    response = dispatcher_stack.invoke(event)

    # THEN every run launched and no record is retried (the runner writes RUNNING itself)
    assert failed_ids(response) == []
    assert len(dispatcher_stack.tasks()) == 4


def test_handler_sustained_outage_fails_fast_per_record(dispatcher_stack):
    # GIVEN GMS down for the whole batch
    event = sqs_event(*(run_body(f"outage-{i}", SQLITE_RECIPE) for i in range(6)))
    dispatcher_stack.gms.fail_next(1000, status=503)

    # WHEN the batch is handled
    response = dispatcher_stack.invoke(event)

    # THEN every record comes back, nothing launched, and once open the breaker spared GMS the rest
    assert failed_ids(response) == [r["messageId"] for r in event["Records"]]
    assert dispatcher_stack.tasks() == []
    reads = [r for r in dispatcher_stack.gms.requests if "/aspects/" in r.get("path", "")]
    assert len(reads) == 3 * ATTEMPTS_PER_CALL  # three failing records open it; the other three never call
