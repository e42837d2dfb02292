"""Change events shaped exactly as open-source DataHub delivers them to datahub-actions.

GMS writes an execution request as a MetadataChangeLog on Kafka (Avro, unions as
`(record name, value)` tuples, the aspect as JSON bytes); datahub-actions' Kafka source turns
each message into an `EventEnvelope` with `build_metadata_change_log_event`. These helpers
run that same function on a stand-in Kafka message, and build the aspects with DataHub's own
schema classes, so the tests see what a real deployment sees.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from datahub.emitter.serialization_helper import pre_json_transform
from datahub.metadata.schema_classes import (
    AuditStampClass,
    ExecutionRequestInputClass,
    ExecutionRequestSignalClass,
    ExecutionRequestSourceClass,
)
from datahub_actions.event.event_envelope import EventEnvelope
from datahub_actions.event.event_registry import METADATA_CHANGE_LOG_EVENT_V1_TYPE
from datahub_actions.plugin.source.kafka.kafka_event_source import build_kafka_meta, build_metadata_change_log_event

MCL_TOPIC = "MetadataChangeLog_Versioned_v1"
GENERIC_ASPECT = "com.linkedin.pegasus2avro.mxe.GenericAspect"
SYSTEM_METADATA = "com.linkedin.pegasus2avro.mxe.SystemMetadata"
AUDIT_STAMP = "com.linkedin.pegasus2avro.common.AuditStamp"
ACTOR = "urn:li:corpuser:datahub"
REQUESTED_AT = 1764140000000
#: A credential in a recipe: must never show up in logs, skip reasons or exceptions.
CANARY_PASSWORD = "canary-Pa55w0rd-7f3e91"


def recipe_json(password: str = CANARY_PASSWORD) -> str:
    return json.dumps(
        {
            "source": {
                "type": "postgres",
                "config": {"host_port": "db.internal:5432", "username": "reader", "password": password},
            }
        }
    )


def execution_input(
    executor_id: str = "remote",
    *,
    recipe: str | None = None,
    source_urn: str = "urn:li:dataHubIngestionSource:pg-prod",
    source_type: str = "MANUAL_INGESTION_SOURCE",
    extra_env_vars: str = '{"EXECUTOR_TASK_MEMORY": "8192"}',
) -> ExecutionRequestInputClass:
    """What the UI's "Execute" (or the scheduler) writes: every `args` value a string."""
    return ExecutionRequestInputClass(
        task="RUN_INGEST",
        args={
            "recipe": recipe if recipe is not None else recipe_json(),
            "version": "1.7.0.17",
            "debug_mode": "false",
            "extra_env_vars": extra_env_vars,
        },
        executorId=executor_id,
        source=ExecutionRequestSourceClass(type=source_type, ingestionSource=source_urn),
        requestedAt=REQUESTED_AT,
        actorUrn=ACTOR,
    )


def ui_test_connection_input(
    execution_urn: str, *, recipe: str | None = None, version: str | None = "1.7.0.17"
) -> ExecutionRequestInputClass:
    """What the UI's "Test Connection" writes: field for field what GMS's CreateTestConnectionRequestResolver
    sets. executorId is always "default"; source has a type and no ingestionSource; args hold the recipe
    with `pipeline_name` set to the request's URN (IngestionUtils.injectPipelineName) and, when
    resolved, the CLI version.
    """
    recipe_dict = json.loads(recipe if recipe is not None else recipe_json())
    if not recipe_dict.get("pipeline_name"):
        recipe_dict["pipeline_name"] = execution_urn
    args = {"recipe": json.dumps(recipe_dict)}
    if version:
        args["version"] = version
    return ExecutionRequestInputClass(
        task="TEST_CONNECTION",
        args=args,
        executorId="default",
        source=ExecutionRequestSourceClass(type="MANUAL_TEST_CONNECTION"),
        requestedAt=REQUESTED_AT,
        actorUrn=ACTOR,
    )


def execution_signal(executor_id: str = "remote") -> ExecutionRequestSignalClass:
    """What the UI's "Cancel" writes."""
    return ExecutionRequestSignalClass(
        signal="KILL", executorId=executor_id, createdAt=AuditStampClass(time=REQUESTED_AT, actor=ACTOR)
    )


def aspect_json(aspect: Any) -> str:
    """The aspect serialized the way GMS puts it in `GenericAspect.value`."""
    return json.dumps(pre_json_transform(aspect.to_obj()))


@dataclass
class FakeKafkaMessage:
    """The few methods of confluent_kafka.Message that the Kafka event source calls."""

    payload: dict[str, Any]
    offset_: int = 0
    partition_: int = 0

    def value(self) -> dict[str, Any]:
        return self.payload

    def topic(self) -> str:
        return MCL_TOPIC

    def partition(self) -> int:
        return self.partition_

    def offset(self) -> int:
        return self.offset_

    def error(self) -> None:
        return None


def kafka_mcl_value(
    entity_urn: str | None,
    aspect_name: str,
    aspect_value: bytes | str | Any,
    *,
    entity_type: str = "dataHubExecutionRequest",
    change_type: str = "UPSERT",
    content_type: str = "application/json",
    entity_key_id: str | None = None,
) -> dict[str, Any]:
    """The Avro-decoded MCL dict (`return_record_name=True`, so unions are `(name, value)` tuples)."""
    if isinstance(aspect_value, str):
        aspect_value = aspect_value.encode()
    elif not isinstance(aspect_value, bytes):
        aspect_value = aspect_json(aspect_value).encode()
    key = (
        (GENERIC_ASPECT, {"value": json.dumps({"id": entity_key_id}).encode(), "contentType": "application/json"})
        if entity_key_id
        else None
    )
    return {
        "auditHeader": None,
        "entityType": entity_type,
        "entityUrn": entity_urn,
        "entityKeyAspect": key,
        "changeType": change_type,
        "aspectName": aspect_name,
        "aspect": (GENERIC_ASPECT, {"value": aspect_value, "contentType": content_type}),
        "systemMetadata": (
            SYSTEM_METADATA,
            {
                "lastObserved": REQUESTED_AT + 3,
                "runId": "no-run-id-provided",
                "registryName": "unknownRegistry",
                "registryVersion": "0.0.0.0-dev",
                "properties": None,
            },
        ),
        "headers": None,
        "previousAspectValue": None,
        "previousSystemMetadata": None,
        "created": (AUDIT_STAMP, {"time": REQUESTED_AT + 2, "actor": ACTOR, "impersonator": None, "message": None}),
    }


def mcl_envelope(
    entity_urn: str | None,
    aspect_name: str,
    aspect_value: bytes | str | Any,
    *,
    offset: int = 0,
    **fields: Any,
) -> EventEnvelope:
    """The EventEnvelope datahub-actions' Kafka source yields for that MCL message."""
    message = FakeKafkaMessage(kafka_mcl_value(entity_urn, aspect_name, aspect_value, **fields), offset_=offset)
    return EventEnvelope(
        METADATA_CHANGE_LOG_EVENT_V1_TYPE, build_metadata_change_log_event(message), build_kafka_meta(message)
    )


def input_envelope(execution_id: str = "run-0001", executor_id: str = "remote", **kwargs: Any) -> EventEnvelope:
    return mcl_envelope(
        f"urn:li:dataHubExecutionRequest:{execution_id}",
        "dataHubExecutionRequestInput",
        execution_input(executor_id, **kwargs),
    )


def ui_test_connection_envelope(execution_id: str = "tc-0001", **kwargs: Any) -> EventEnvelope:
    """The MCL GMS emits for a UI "Test Connection" (the resolver's URN is a random UUID)."""
    urn = f"urn:li:dataHubExecutionRequest:{execution_id}"
    return mcl_envelope(urn, "dataHubExecutionRequestInput", ui_test_connection_input(urn, **kwargs))


def signal_envelope(execution_id: str = "run-0001", executor_id: str = "remote") -> EventEnvelope:
    return mcl_envelope(
        f"urn:li:dataHubExecutionRequest:{execution_id}", "dataHubExecutionRequestSignal", execution_signal(executor_id)
    )
