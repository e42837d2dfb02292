"""Whose message is it, and can it be read? Decided before the full parse. Pure: no I/O.

The executor id and the URN are peeked at cheaply and safely first (executor_common.json_peek),
so a malformed message for another executor gets nothing from this one, and a malformed
message for this one gets a FAILURE wherever its URN can be read (deep nesting and huge
numbers included). A cancel without `executorId` (optional in DataHub's signal aspect) is
passed on as "maybe ours": the caller decides by whether this stack runs that request.
Unknown task types (a hosted executor's monitoring tasks, say) are ignored, never failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from executor_common.contract import (
    INPUT_ASPECT,
    SIGNAL_ASPECT,
    ExecutionTask,
    RunCommand,
    SignalCommand,
    execution_id_from_urn,
    parse_command,
)
from executor_common.errors import summarize_validation_error
from executor_common.json_peek import string_member, top_level_members
from pydantic import ValidationError

#: Longest executor id / task name quoted back in a log line.
_SHOWN = 64


@dataclass(frozen=True)
class Parsed:
    """A well-formed command for this executor, or (maybe_ours) a signal that names no executor."""

    command: RunCommand | SignalCommand
    maybe_ours: bool = False


@dataclass(frozen=True)
class Foreign:
    """Addressed to another executor: nothing is launched or written."""

    executor_id: str
    urn: str | None


@dataclass(frozen=True)
class Ignored:
    """Ours, but a kind of work this executor does not do (an unknown task type): logged, never failed."""

    urn: str | None
    reason: str


@dataclass(frozen=True)
class Unparseable:
    """Not a valid command; `urn` (when readable) gets a FAILURE naming `reason`."""

    urn: str | None
    reason: str


Route = Parsed | Foreign | Ignored | Unparseable


@dataclass(frozen=True)
class _Peek:
    urn: str | None
    aspect_name: str | None
    executor_id: str | None
    task: str | None


def _peek(body: str | bytes) -> _Peek:
    top = top_level_members(body)
    aspect = top_level_members((top or {}).get("aspect"))
    # DataHub's GenericAspect form: {"value": "<JSON string>", "contentType": "application/json"}
    inner = string_member(aspect, "value")
    if inner is not None and "executorId" not in (aspect or {}):
        aspect = top_level_members(inner)
    urn = string_member(top, "entityUrn")
    try:
        execution_id_from_urn(urn)  # type: ignore[arg-type]
    except ValueError:
        urn = None
    return _Peek(
        urn=urn,
        aspect_name=string_member(top, "aspectName"),
        executor_id=string_member(aspect, "executorId"),
        task=string_member(aspect, "task"),
    )


def route(body: str | bytes, executor_id: str) -> Route:
    """The routing decision for one queue message body."""
    peek = _peek(body)
    if peek.executor_id is not None and peek.executor_id != executor_id and peek.aspect_name != SIGNAL_ASPECT:
        return Foreign(peek.executor_id[:_SHOWN], peek.urn)
    if peek.aspect_name == INPUT_ASPECT and peek.task is not None and peek.task not in ExecutionTask.__members__:
        return Ignored(peek.urn, f"unknown task type {peek.task[:_SHOWN]!r}: not a task this executor runs")
    try:
        command = parse_command(body)
    except ValidationError as exc:
        return _unparseable(peek, f"The message does not match the contract: {summarize_validation_error(exc)}")
    except (ValueError, RecursionError) as exc:
        return _unparseable(peek, f"The message is not valid JSON: {str(exc)[:200]}")
    if command.executor_id is None or (isinstance(command, SignalCommand) and command.executor_id != executor_id):
        # DataHub sets a cancel's executorId from the source's *current* executor: ours if we run the request
        return Parsed(command, maybe_ours=True)
    if command.executor_id != executor_id:
        return Foreign(command.executor_id[:_SHOWN], command.entityUrn)
    return Parsed(command)


def _unparseable(peek: _Peek, reason: str) -> Unparseable | Ignored:
    """A malformed signal fails nothing: a FAILURE would land on a run that may be running well (or not be ours)."""
    if peek.aspect_name == SIGNAL_ASPECT:
        return Ignored(peek.urn, f"a malformed signal; nothing to stop. {reason}")
    return Unparseable(peek.urn, reason)
