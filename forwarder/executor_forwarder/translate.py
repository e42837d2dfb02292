"""Pure decision: which DataHub change events become command-queue messages, and with which body.

No I/O here. Every `Skip.reason` is safe to log: it never quotes the aspect, because a
recipe in `args.recipe` may hold credentials.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from datahub_actions.event.event_envelope import EventEnvelope
from datahub_actions.event.event_registry import METADATA_CHANGE_LOG_EVENT_V1_TYPE
from executor_common.contract import (
    EXECUTION_REQUEST_ENTITY,
    EXECUTION_REQUEST_URN_PREFIX,
    INPUT_ASPECT,
    SIGNAL_ASPECT,
    ExecutionTask,
    parse_command,
)
from executor_common.errors import summarize_validation_error
from pydantic import ValidationError

FORWARDED_ASPECTS = frozenset({INPUT_ASPECT, SIGNAL_ASPECT})
#: How a forwarded cancel that names no executor is labelled in logs and message attributes.
UNNAMED_EXECUTOR = "(unnamed)"
#: RESTATE (index restore) and DELETE must never re-run or cancel anything.
FORWARDED_CHANGE_TYPES = frozenset({"UPSERT", "CREATE"})
JSON_CONTENT_TYPE = "application/json"


class SkipKind(StrEnum):
    UNRELATED = "unrelated"  # not an execution-request input/signal change: the common case
    OTHER_EXECUTOR = "other_executor"  # a request for an executor id this forwarder does not serve
    INVALID = "invalid"  # meant for us (or undecidable) but malformed: worth a warning
    UNDECODABLE = "undecodable"  # an execution-request aspect whose executor cannot be read from the event


@dataclass(frozen=True)
class Skip:
    kind: SkipKind
    reason: str
    entity_urn: str | None = None


@dataclass(frozen=True)
class Forward:
    """The message to send. Kept out of repr(): the body holds the recipe, which may hold credentials.

    `problem` is set when the message is ours but the contract refuses it: it is forwarded all the
    same, so that the dispatcher writes a FAILURE with the reason in DataHub instead of the run
    staying "Pending" forever.
    """

    entity_urn: str
    aspect_name: str
    executor_id: str
    body: str = field(repr=False)
    problem: str | None = None
    claimed_from: str | None = None  # the executorId DataHub wrote, when a test connection was claimed


def decide(
    envelope: EventEnvelope,
    executor_ids: Collection[str],
    claim_test_connections_for: Collection[str] = (),
    claim_as: str | None = None,
) -> Forward | Skip:
    """Forward an execution-request input/signal change for one of `executor_ids`; skip anything else.

    A TEST_CONNECTION input for an id in `claim_test_connections_for` is forwarded too, with its
    executorId replaced by `claim_as` (the stack's id), so the dispatcher runs it.
    """
    if envelope.event_type != METADATA_CHANGE_LOG_EVENT_V1_TYPE:
        return Skip(SkipKind.UNRELATED, f"event type {envelope.event_type!r} is not a MetadataChangeLog")
    event = envelope.event
    entity_type = _field(event, "entityType")
    aspect_name = _field(event, "aspectName")
    if entity_type != EXECUTION_REQUEST_ENTITY or aspect_name not in FORWARDED_ASPECTS:
        return Skip(SkipKind.UNRELATED, f"{entity_type}/{aspect_name} is not an execution-request input or signal")
    entity_urn = _entity_urn(event)
    change_type = str(_field(event, "changeType") or "")
    if change_type not in FORWARDED_CHANGE_TYPES:
        return Skip(SkipKind.UNRELATED, f"change type {change_type!r} is not forwarded", entity_urn)
    if entity_urn is None:
        return Skip(SkipKind.INVALID, "the event has neither an entityUrn nor an entityKeyAspect id")

    aspect, problem = _decode_aspect(_field(event, "aspect"))
    if aspect is None:
        return Skip(SkipKind.UNDECODABLE, problem, entity_urn)
    executor_id = aspect.get("executorId")
    claimed_from = None
    if aspect_name == SIGNAL_ASPECT and not (isinstance(executor_id, str) and executor_id in executor_ids):
        # A cancel's executorId is optional and follows the source's *current* executor, so it cannot say
        # whose run it is: forward it, and the dispatcher acts only when its cluster runs that request.
        executor_id = executor_id if isinstance(executor_id, str) and executor_id else UNNAMED_EXECUTOR
    elif not isinstance(executor_id, str):
        return Skip(SkipKind.UNDECODABLE, "the aspect has no executorId string", entity_urn)
    elif executor_id not in executor_ids:
        if not (claim_as and is_claimed_test_connection(aspect_name, aspect, claim_test_connections_for)):
            return Skip(SkipKind.OTHER_EXECUTOR, f"executorId {_short(executor_id)!r} is not served here", entity_urn)
        claimed_from, executor_id = executor_id, claim_as
        aspect = {**aspect, "executorId": claim_as}

    body = {"entityUrn": entity_urn, "aspectName": aspect_name, "aspect": aspect}
    command_problem: str | None = None
    try:
        parse_command(body)
    except ValidationError as exc:
        command_problem = f"not a valid command: {summarize_validation_error(exc)}"
    except ValueError:
        command_problem = "not a valid command"
    return Forward(
        entity_urn, aspect_name, executor_id, json.dumps(body, separators=(",", ":")), command_problem, claimed_from
    )


def is_claimed_test_connection(aspect_name: str, aspect: dict[str, Any], claimed_ids: Collection[str]) -> bool:
    """A UI "Test Connection" input whose executorId the forwarder was told to claim."""
    return (
        aspect_name == INPUT_ASPECT
        and aspect.get("task") == ExecutionTask.TEST_CONNECTION
        and aspect.get("executorId") in claimed_ids
    )


def _field(record: Any, name: str) -> Any:
    try:
        return getattr(record, name, None)
    except Exception:  # avrogen wrappers raise on a malformed inner dict
        return None


def _entity_urn(event: Any) -> str | None:
    urn = _field(event, "entityUrn")
    if isinstance(urn, str) and urn:
        return urn
    key, _ = _decode_aspect(_field(event, "entityKeyAspect"))
    key_id = key.get("id") if key else None
    return f"{EXECUTION_REQUEST_URN_PREFIX}{key_id}" if isinstance(key_id, str) and key_id else None


def _decode_aspect(generic_aspect: Any) -> tuple[dict[str, Any] | None, str]:
    """A GenericAspect's JSON `value` (bytes from Kafka's Avro, str from JSON) as a dict."""
    if generic_aspect is None:
        return None, "the event carries no aspect"
    content_type = _field(generic_aspect, "contentType")
    if content_type != JSON_CONTENT_TYPE:
        return None, f"aspect content type {_short(content_type)!r} is not {JSON_CONTENT_TYPE}"
    value = _field(generic_aspect, "value")
    try:
        decoded = json.loads(value)
    except json.JSONDecodeError as exc:
        return None, f"aspect value is not JSON ({exc.msg} at char {exc.pos})"
    except (TypeError, UnicodeDecodeError):
        return None, "aspect value is not UTF-8 JSON text"
    if not isinstance(decoded, dict):
        return None, f"aspect value is a JSON {type(decoded).__name__}, not an object"
    return decoded, ""


def _short(value: Any, limit: int = 64) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."
