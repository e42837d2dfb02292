"""The forwarder inside a real datahub-actions Pipeline: which events get acknowledged.

datahub-actions ships no in-memory event source, so this file registers one that records
`ack()` calls, the way the Kafka source would commit offsets. It proves the delivery
guarantee the README states: with `failure_mode: THROW` an event whose message could not be
queued is never acknowledged; with the default CONTINUE it would be (and so be lost).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from datahub.configuration.config_loader import load_config_file
from datahub_actions.event.event_envelope import EventEnvelope
from datahub_actions.pipeline.pipeline import Pipeline, PipelineException
from datahub_actions.pipeline.pipeline_config import FailureMode
from datahub_actions.pipeline.pipeline_context import PipelineContext
from datahub_actions.pipeline.pipeline_manager import run_pipeline
from datahub_actions.source.event_source import EventSource
from datahub_actions.source.event_source_registry import event_source_registry
from executor_forwarder.action import SqsExecutorForwarderAction

from tests.conftest import REPO_ROOT
from tests.integration.forwarder.forwarder_aws import REGION, queued_messages
from tests.unit.forwarder.mcl_events import (
    FakeKafkaMessage,
    execution_input,
    input_envelope,
    kafka_mcl_value,
    mcl_envelope,
    signal_envelope,
)

#: The fixtures (moto account, command queue, action factory) live beside this file.
pytest_plugins = ["tests.integration.forwarder.forwarder_aws_fixtures"]

SOURCE_TYPE = "forwarder_test_in_memory"
_FEEDS: dict[str, list[EventEnvelope]] = {}


class InMemoryEventSource(EventSource):
    """Yields a fixed list of envelopes and records every ack (what Kafka would commit)."""

    def __init__(self, envelopes: list[EventEnvelope]) -> None:
        self.envelopes = envelopes
        self.acks: list[tuple[str, bool]] = []

    @classmethod
    def create(cls, config_dict: dict, ctx: PipelineContext) -> InMemoryEventSource:
        return cls(_FEEDS.pop(config_dict["feed"]))

    def events(self) -> Iterable[EventEnvelope]:
        yield from self.envelopes

    def ack(self, event: EventEnvelope, processed: bool = True) -> None:
        self.acks.append((_label(event), processed))

    def close(self) -> None:
        pass


event_source_registry.register(SOURCE_TYPE, InMemoryEventSource, override=True)


def _label(event: EventEnvelope) -> str:
    return str(getattr(event.event, "entityUrn", None)).rsplit(":", 1)[-1]


def make_pipeline(
    tmp_path: Path, envelopes: list[EventEnvelope], action_config: dict[str, Any], **options: Any
) -> Pipeline:
    _FEEDS[str(tmp_path)] = envelopes
    return Pipeline.create(
        {
            "name": "aws_sqs_executor_forwarder_test",
            "source": {"type": SOURCE_TYPE, "config": {"feed": str(tmp_path)}},
            "action": {"type": "aws_sqs_executor_forwarder", "config": action_config},
            "options": {"failed_events_dir": str(tmp_path / "failed"), **options},
        }
    )


def test_pipeline_acknowledges_forwarded_and_skipped_events(tmp_path: Path, fwd_queue: str) -> None:
    # GIVEN a run, a request for another executor, an unparsable event and a cancel
    envelopes = [
        input_envelope("run-1"),
        input_envelope("other", executor_id="default"),
        mcl_envelope("urn:li:dataHubExecutionRequest:garbage", "dataHubExecutionRequestInput", b"\x00\x01"),
        signal_envelope("run-1"),
    ]
    pipeline = make_pipeline(tmp_path, envelopes, {"queue_url": fwd_queue, "aws_region": REGION})

    # WHEN the pipeline drains its source
    pipeline.run()

    # THEN every event is acknowledged, and only the run and the cancel are on the queue, in order
    assert isinstance(pipeline.action, SqsExecutorForwarderAction)
    assert pipeline.source.acks == [("run-1", True), ("other", True), ("garbage", True), ("run-1", True)]
    bodies = [json.loads(m["Body"]) for m in queued_messages(fwd_queue)]
    assert [(b["entityUrn"], b["aspectName"]) for b in bodies] == [
        ("urn:li:dataHubExecutionRequest:run-1", "dataHubExecutionRequestInput"),
        ("urn:li:dataHubExecutionRequest:run-1", "dataHubExecutionRequestSignal"),
    ]
    assert pipeline.stats().failed_event_count == 0


def test_pipeline_throw_mode_never_acknowledges_an_event_that_was_not_queued(
    tmp_path: Path, fwd_unreachable_sqs: dict[str, Any]
) -> None:
    # GIVEN SQS is unreachable and the pipeline runs with failure_mode THROW (as the example config says)
    envelopes = [
        input_envelope("skipped-first", executor_id="default"),
        input_envelope("run-1"),
        input_envelope("run-2"),
    ]
    pipeline = make_pipeline(tmp_path, envelopes, fwd_unreachable_sqs, failure_mode="THROW", retry_count=1)

    # WHEN
    with pytest.raises(PipelineException):
        pipeline.run()

    # THEN the pipeline stops at run-1: it is not acknowledged, and nothing after it is processed,
    # so the Kafka offset stays before run-1 and a restarted forwarder receives it again
    assert pipeline.source.acks == [("skipped-first", True)]
    assert pipeline.stats().failed_event_count == 1


def test_pipeline_manager_reports_the_failed_pipeline_so_the_process_exits_non_zero(
    tmp_path: Path, fwd_unreachable_sqs: dict[str, Any]
) -> None:
    pipeline = make_pipeline(tmp_path, [input_envelope("run-1")], fwd_unreachable_sqs, failure_mode="THROW")

    assert run_pipeline(pipeline) is False  # `datahub actions run` then exits 1 once no pipeline runs


def test_pipeline_default_continue_mode_would_acknowledge_a_lost_event(
    tmp_path: Path, fwd_unreachable_sqs: dict[str, Any]
) -> None:
    # GIVEN the datahub-actions default failure_mode CONTINUE (why the example config sets THROW)
    pipeline = make_pipeline(tmp_path, [input_envelope("run-1")], fwd_unreachable_sqs)

    pipeline.run()

    # THEN the failed event is acknowledged anyway and only survives in the failed-events file
    assert pipeline.source.acks == [("run-1", True)]
    failed_log = tmp_path / "failed" / "aws_sqs_executor_forwarder_test" / "failed_events.log"
    assert "run-1" in failed_log.read_text()


def point_datahub_at(monkeypatch: pytest.MonkeyPatch, gms_standin: Any) -> None:
    """The example's `datahub:` section reads DataHub's usual GMS variables: aim them at the stand-in."""
    url = urlsplit(gms_standin.url)
    monkeypatch.setenv("DATAHUB_GMS_PROTOCOL", url.scheme)
    monkeypatch.setenv("DATAHUB_GMS_HOST", url.hostname or "")
    monkeypatch.setenv("DATAHUB_GMS_PORT", str(url.port))
    monkeypatch.setenv("DATAHUB_GMS_TOKEN", gms_standin.token)


def test_example_config_is_a_valid_throw_mode_pipeline(
    tmp_path: Path, fwd_queue: str, monkeypatch: pytest.MonkeyPatch, gms_standin: Any
) -> None:
    # GIVEN forwarder/actions-config.example.yml, loaded as `datahub actions -c` loads it (env vars expanded),
    # with its Kafka source swapped for the in-memory one
    monkeypatch.setenv("COMMAND_QUEUE_URL", fwd_queue)
    point_datahub_at(monkeypatch, gms_standin)
    monkeypatch.delenv("EXECUTOR_ID", raising=False)
    example = load_config_file(REPO_ROOT / "forwarder" / "actions-config.example.yml")
    assert example["action"]["type"] == "aws_sqs_executor_forwarder"
    assert example["options"]["failure_mode"] == "THROW"
    assert example["source"]["type"] == "kafka"
    dataset_change = mcl_envelope(
        "urn:li:dataset:(urn:li:dataPlatform:hive,t,PROD)", "globalTags", b'{"tags": []}', entity_type="dataset"
    )
    _FEEDS[str(tmp_path)] = [input_envelope("run-1"), dataset_change, input_envelope("run-x", executor_id="default")]
    example["source"] = {"type": SOURCE_TYPE, "config": {"feed": str(tmp_path)}}
    example["options"]["failed_events_dir"] = str(tmp_path / "failed")

    # WHEN
    pipeline = Pipeline.create(example)
    pipeline.run()

    # THEN its filter drops the dataset change before the action, and the run for "remote" is queued
    [message] = queued_messages(fwd_queue)
    assert json.loads(message["Body"])["entityUrn"] == "urn:li:dataHubExecutionRequest:run-1"
    assert [urn for urn, _ in pipeline.source.acks] == ["run-1", "hive,t,PROD)", "run-x"]
    assert pipeline.action.counts == {"forwarded": 1, "skipped_other_executor": 1}
    # AND the `datahub:` section gives the action a DataHub connection for its FAILURE reports
    assert pipeline.action.ctx.graph is not None


def test_example_config_kafka_pipeline_forwards_a_raw_mcl_and_drops_others_early(
    tmp_path: Path, fwd_queue: str, monkeypatch: pytest.MonkeyPatch, gms_standin: Any
) -> None:
    # GIVEN the example config as shipped (Kafka source), pointed at a broker that is not there
    monkeypatch.setenv("COMMAND_QUEUE_URL", fwd_queue)
    point_datahub_at(monkeypatch, gms_standin)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVER", "127.0.0.1:9")
    config = load_config_file(REPO_ROOT / "forwarder" / "actions-config.example.yml")
    config["options"]["failed_events_dir"] = str(tmp_path)

    # WHEN datahub-actions builds the pipeline (building the consumer does not connect yet)
    pipeline = Pipeline.create(config)
    try:
        # THEN: THROW, no blind pipeline retries, a longer poll interval, and an early MCL filter
        assert (pipeline._failure_mode, pipeline._retry_count) == (FailureMode.THROW, 0)
        assert pipeline.source.source_config.connection.consumer_config["max.poll.interval.ms"] == 60000
        assert pipeline.source._early_mcl_criteria_list == [
            {
                "entityType": "dataHubExecutionRequest",
                "aspectName": ["dataHubExecutionRequestInput", "dataHubExecutionRequestSignal"],
                "changeType": ["UPSERT", "CREATE"],
            }
        ]
        # AND the Kafka source turns GMS's Avro-decoded MCL for an "Execute" into an envelope the action
        # forwards, while another entity's MCL is dropped before deserialization
        urn = "urn:li:dataHubExecutionRequest:from-kafka"
        run = FakeKafkaMessage(kafka_mcl_value(urn, "dataHubExecutionRequestInput", execution_input()), offset_=41)
        tags = FakeKafkaMessage(
            kafka_mcl_value("urn:li:dataset:x", "globalTags", b'{"tags": []}', entity_type="dataset"), offset_=42
        )
        assert list(pipeline.source.handle_mcl(tags)) == []
        [envelope] = pipeline.source.handle_mcl(run)
        assert envelope.meta == {"kafka": {"topic": "MetadataChangeLog_Versioned_v1", "offset": 41, "partition": 0}}
        assert pipeline.action.act(envelope) is True
        [message] = queued_messages(fwd_queue)
        assert json.loads(message["Body"])["entityUrn"] == urn
    finally:
        pipeline.close()
