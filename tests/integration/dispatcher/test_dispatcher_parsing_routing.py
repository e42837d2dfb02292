"""Unparseable messages are consumed (FAILURE when a URN is recoverable); misrouted ones ignored.

Dispatcher behaviours 1 and 2 in docs/architecture.md.
"""

from __future__ import annotations

from dispatcher_helpers import SQLITE_RECIPE, failed_ids, run_body, sqs_event, urn_of

from tests.conftest import load_event

WRONG_SHAPE_URN = "urn:li:dataHubExecutionRequest:5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f"
UNKNOWN_ASPECT_URN = "urn:li:dataHubExecutionRequest:9e8d7c6b-5a4f-4e3d-b2c1-0a9f8e7d6c5b"
TRUNCATED_JSON_URN = "urn:li:dataHubExecutionRequest:0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a"


def test_handler_malformed_records_consumed_and_failure_written_when_urn_recoverable(dispatcher_stack):
    # GIVEN truncated JSON, a wrong shape (no task/source) and an unknown aspectName
    event = load_event("malformed.json")

    # WHEN the batch is handled
    response = dispatcher_stack.invoke(event)

    # THEN every record is consumed (a retry cannot fix them) and nothing is launched
    assert failed_ids(response) == []
    assert dispatcher_stack.tasks() == []
    # AND DataHub shows FAILURE naming the problem wherever a URN could be recovered
    wrong_shape = dispatcher_stack.gms.result(WRONG_SHAPE_URN)
    assert wrong_shape["status"] == "FAILURE"
    assert "aspect.task" in wrong_shape["report"] and "aspect.source" in wrong_shape["report"]
    unknown = dispatcher_stack.gms.result(UNKNOWN_ASPECT_URN)
    assert unknown["status"] == "FAILURE"
    assert "dataHubExecutionRequestInput" in unknown["report"]  # names the aspects it understands
    # AND the truncated message (no recoverable URN) writes nothing
    assert dispatcher_stack.gms.result(TRUNCATED_JSON_URN) is None
    assert any(r.get("message") == "Rejected an unparseable message" for r in dispatcher_stack.log_records())


def test_handler_malformed_record_with_gms_down_is_retried_so_the_failure_is_not_lost(dispatcher_stack):
    # GIVEN GMS answers 503 to every write
    dispatcher_stack.gms.fail_next(100, status=503)
    event = load_event("malformed.json")

    # WHEN the batch is handled
    response = dispatcher_stack.invoke(event)

    # THEN the records with a URN come back (their FAILURE must reach DataHub); the URN-less one is consumed
    records = event["Records"]
    assert failed_ids(response) == [records[1]["messageId"], records[2]["messageId"]]


def test_handler_misrouted_executor_id_launches_nothing_and_writes_nothing(dispatcher_stack):
    # GIVEN a run for the executor "default" (another executor's)
    execution_id = "2c3d4e5f-misrouted"
    event = sqs_event(run_body(execution_id, SQLITE_RECIPE, executor_id="default"))

    # WHEN handled
    response = dispatcher_stack.invoke(event)

    # THEN it is consumed, no task, no write to DataHub, and the log says misrouted
    assert failed_ids(response) == []
    assert dispatcher_stack.tasks() == []
    assert dispatcher_stack.gms.history(urn_of(execution_id)) == []
    assert not dispatcher_stack.gms.requests_to("/aspects", action="ingestProposal")
    assert any("Misrouted" in r.get("message", "") for r in dispatcher_stack.log_records())
