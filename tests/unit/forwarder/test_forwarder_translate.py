"""decide(): which DataHub change events become command-queue messages, and exactly which body."""

from __future__ import annotations

import json

import pytest
from datahub_actions.event.event_envelope import EventEnvelope
from datahub_actions.event.event_registry import ENTITY_CHANGE_EVENT_V1_TYPE, EntityChangeEvent
from executor_common.contract import RunCommand, SignalCommand, parse_command
from executor_forwarder.translate import Forward, Skip, SkipKind, decide

from tests.unit.forwarder.mcl_events import (
    CANARY_PASSWORD,
    aspect_json,
    execution_input,
    execution_signal,
    input_envelope,
    mcl_envelope,
    signal_envelope,
    ui_test_connection_envelope,
    ui_test_connection_input,
)

EXECUTORS = frozenset({"remote", "remote-eu"})
URN = "urn:li:dataHubExecutionRequest:run-0001"


def test_decide_input_for_served_executor_forwards_the_aspect_unchanged() -> None:
    # GIVEN the MCL GMS emits when an admin clicks "Execute" on a source set to executor "remote"
    envelope = input_envelope("run-0001", "remote")

    # WHEN
    decision = decide(envelope, EXECUTORS)

    # THEN the body is the message contract: urn, aspect name and the decoded aspect as DataHub wrote it
    assert isinstance(decision, Forward)
    body = json.loads(decision.body)
    assert body == {
        "entityUrn": URN,
        "aspectName": "dataHubExecutionRequestInput",
        "aspect": json.loads(aspect_json(execution_input("remote"))),
    }
    assert isinstance(parse_command(decision.body), RunCommand)
    assert (decision.entity_urn, decision.aspect_name, decision.executor_id) == (
        URN,
        "dataHubExecutionRequestInput",
        "remote",
    )


def test_decide_cancel_signal_for_served_executor_forwards_it() -> None:
    decision = decide(signal_envelope("run-0001", "remote-eu"), EXECUTORS)

    assert isinstance(decision, Forward)
    command = parse_command(decision.body)
    assert isinstance(command, SignalCommand)
    assert command.aspect.signal == "KILL"
    assert json.loads(decision.body)["aspect"] == json.loads(aspect_json(execution_signal("remote-eu")))


def test_decide_scheduled_and_test_connection_requests_are_forwarded() -> None:
    scheduled = decide(input_envelope(source_type="SCHEDULED_INGESTION_SOURCE"), EXECUTORS)
    assert isinstance(scheduled, Forward)

    test_connection = execution_input()
    test_connection.task = "TEST_CONNECTION"
    test_connection.source.type = "MANUAL_TEST_CONNECTION"
    decision = decide(mcl_envelope(URN, "dataHubExecutionRequestInput", test_connection), EXECUTORS)
    assert isinstance(decision, Forward)
    assert parse_command(decision.body).aspect.task == "TEST_CONNECTION"


def test_decide_request_for_another_executor_is_skipped() -> None:
    decision = decide(input_envelope(executor_id="default"), EXECUTORS)

    assert decision == Skip(SkipKind.OTHER_EXECUTOR, "executorId 'default' is not served here", URN)


def test_decide_json_roundtripped_envelope_gives_the_same_body() -> None:
    # GIVEN an envelope that went through EventEnvelope JSON (as in the failed-events log / other sources)
    original = input_envelope()
    roundtripped = EventEnvelope.from_json(original.as_json())

    first, second = decide(original, EXECUTORS), decide(roundtripped, EXECUTORS)

    assert isinstance(first, Forward) and isinstance(second, Forward)
    assert first.body == second.body


def test_decide_missing_entity_urn_falls_back_to_the_key_aspect() -> None:
    envelope = mcl_envelope(None, "dataHubExecutionRequestInput", execution_input(), entity_key_id="from-key")

    decision = decide(envelope, EXECUTORS)

    assert isinstance(decision, Forward)
    assert decision.entity_urn == "urn:li:dataHubExecutionRequest:from-key"


@pytest.mark.parametrize(
    ("fields", "aspect_name"),
    [
        pytest.param({"entity_type": "dataset"}, "dataHubExecutionRequestInput", id="other-entity"),
        pytest.param({}, "dataHubExecutionRequestResult", id="result-aspect"),
        pytest.param({"change_type": "RESTATE"}, "dataHubExecutionRequestInput", id="restate-never-reruns"),
        pytest.param({"change_type": "DELETE"}, "dataHubExecutionRequestInput", id="delete"),
    ],
)
def test_decide_unrelated_changes_are_skipped_quietly(fields: dict, aspect_name: str) -> None:
    decision = decide(mcl_envelope(URN, aspect_name, execution_input(), **fields), EXECUTORS)

    assert isinstance(decision, Skip)
    assert decision.kind == SkipKind.UNRELATED


def test_decide_create_change_type_is_forwarded() -> None:
    decision = decide(
        mcl_envelope(URN, "dataHubExecutionRequestInput", execution_input(), change_type="CREATE"), EXECUTORS
    )

    assert isinstance(decision, Forward)


def test_decide_non_mcl_event_is_skipped() -> None:
    event = EntityChangeEvent.from_json(
        json.dumps(
            {
                "entityType": "dataset",
                "entityUrn": "urn:li:dataset:(urn:li:dataPlatform:hive,t,PROD)",
                "category": "TAG",
                "operation": "ADD",
                "auditStamp": {"time": 1, "actor": "urn:li:corpuser:datahub"},
                "version": 0,
            }
        )
    )

    decision = decide(EventEnvelope(ENTITY_CHANGE_EVENT_V1_TYPE, event, {}), EXECUTORS)

    assert isinstance(decision, Skip) and decision.kind == SkipKind.UNRELATED


@pytest.mark.parametrize(
    ("value", "fields", "reason_part"),
    [
        pytest.param(b'{"task": "RUN_INGEST", "args": {"recipe": "', {}, "not JSON", id="truncated-json"),
        pytest.param(b"\xff\xfe garbage", {}, "not JSON", id="binary"),
        pytest.param(b'["remote"]', {}, "JSON list", id="json-list"),
        pytest.param(b"{}", {"content_type": "application/avro"}, "content type", id="content-type"),
        pytest.param(b'{"task": "RUN_INGEST", "args": {}}', {}, "no executorId", id="no-executor-id"),
    ],
)
def test_decide_undecodable_aspect_is_skipped(value: bytes, fields: dict, reason_part: str) -> None:
    decision = decide(mcl_envelope(URN, "dataHubExecutionRequestInput", value, **fields), EXECUTORS)

    assert isinstance(decision, Skip)
    assert reason_part in decision.reason


def test_decide_invalid_command_for_us_is_forwarded_with_the_problem_named() -> None:
    # GIVEN an input for our executor whose shape the contract refuses (unknown task, args not strings)
    aspect = json.loads(aspect_json(execution_input()))
    aspect["task"] = "RUN_SOMETHING_NEW"
    aspect["args"]["debug_mode"] = {"nested": CANARY_PASSWORD}
    envelope = mcl_envelope(URN, "dataHubExecutionRequestInput", json.dumps(aspect))

    # WHEN
    decision = decide(envelope, EXECUTORS)

    # THEN it is still forwarded (the dispatcher reports FAILURE in DataHub rather than leaving it Pending),
    # and the problem it carries for the log names the fields without quoting any input value
    assert isinstance(decision, Forward)
    assert decision.problem is not None
    assert "task" in decision.problem and "debug_mode" in decision.problem
    assert CANARY_PASSWORD not in decision.problem
    assert CANARY_PASSWORD not in repr(decision)


def test_forward_repr_never_shows_the_recipe() -> None:
    decision = decide(input_envelope(), EXECUTORS)

    assert isinstance(decision, Forward)
    assert CANARY_PASSWORD in decision.body  # forwarded unchanged: the runner resolves it
    assert CANARY_PASSWORD not in repr(decision)


def test_decide_ui_test_connection_for_a_claimed_id_is_forwarded_as_ours() -> None:
    # GIVEN the MCL of a UI "Test Connection" (executorId "default") and a forwarder told to claim "default"
    envelope = ui_test_connection_envelope("tc-0001")

    # WHEN
    decision = decide(envelope, EXECUTORS, claim_test_connections_for={"default"}, claim_as="remote")

    # THEN it is forwarded under the stack's executor id, everything else exactly as DataHub wrote it
    assert isinstance(decision, Forward)
    assert (decision.executor_id, decision.claimed_from, decision.problem) == ("remote", "default", None)
    expected = json.loads(aspect_json(ui_test_connection_input("urn:li:dataHubExecutionRequest:tc-0001")))
    assert json.loads(decision.body)["aspect"] == expected | {"executorId": "remote"}
    assert isinstance(parse_command(decision.body), RunCommand)


def test_decide_ui_test_connection_without_a_claim_is_left_to_the_default_executor() -> None:
    decision = decide(ui_test_connection_envelope(), EXECUTORS)

    assert isinstance(decision, Skip) and decision.kind == SkipKind.OTHER_EXECUTOR


@pytest.mark.parametrize(
    "envelope",
    [
        pytest.param(input_envelope("run-0001", "default"), id="run-ingest-for-default"),
    ],
)
def test_decide_claim_takes_only_test_connections(envelope: EventEnvelope) -> None:
    decision = decide(envelope, EXECUTORS, claim_test_connections_for={"default"}, claim_as="remote")

    assert isinstance(decision, Skip) and decision.kind == SkipKind.OTHER_EXECUTOR


def test_decide_undecodable_aspect_is_marked_for_an_ownership_check() -> None:
    decision = decide(mcl_envelope(URN, "dataHubExecutionRequestInput", b"{not json"), EXECUTORS)

    assert isinstance(decision, Skip)
    assert (decision.kind, decision.entity_urn) == (SkipKind.UNDECODABLE, URN)


def test_decide_event_from_datahub_actions_cloud_event_source_is_forwarded() -> None:
    """The `datahub-cloud` event source (DataHub Cloud's events API) yields MCLs through its own
    handle_mcl; the forwarder reads those as it reads Kafka's. Only the code path is checked here:
    no DataHub Cloud instance was available to verify what its events API carries."""
    from datahub.metadata.schema_classes import GenericAspectClass, MetadataChangeLogClass
    from datahub_actions.event.event_registry import MetadataChangeLogEvent
    from datahub_actions.plugin.source.acryl.datahub_cloud_event_source import DataHubEventSource
    from datahub_actions.plugin.source.acryl.datahub_cloud_events_consumer import ExternalEvent

    mcl = MetadataChangeLogClass(
        entityType="dataHubExecutionRequest",
        entityUrn=URN,
        changeType="UPSERT",
        aspectName="dataHubExecutionRequestInput",
        aspect=GenericAspectClass(value=aspect_json(execution_input()), contentType="application/json"),
    )
    external = ExternalEvent(contentType="application/json", value=MetadataChangeLogEvent.from_class(mcl).as_json())

    (envelope,) = DataHubEventSource.handle_mcl(external)
    decision = decide(envelope, EXECUTORS)

    assert isinstance(decision, Forward)
    assert json.loads(decision.body)["aspect"] == json.loads(aspect_json(execution_input()))


@pytest.mark.parametrize("executor_id", ["default", None], ids=["other-executor", "no-executor-id"])
def test_decide_cancel_naming_another_or_no_executor_is_forwarded_for_the_dispatcher_to_decide(executor_id) -> None:
    # GIVEN a cancel whose executorId DataHub took from the source's *current* executor (or left out)
    signal = execution_signal(executor_id or "remote")
    if executor_id is None:
        signal.executorId = None
    envelope = mcl_envelope("urn:li:dataHubExecutionRequest:run-0001", "dataHubExecutionRequestSignal", signal)

    # WHEN the forwarder decides
    decision = decide(envelope, EXECUTORS)

    # THEN it goes to the queue unchanged: the dispatcher stops the task only if its cluster runs that request
    assert isinstance(decision, Forward)
    assert decision.executor_id == (executor_id or "(unnamed)")
    command = parse_command(decision.body)
    assert isinstance(command, SignalCommand) and command.aspect.executorId == executor_id
