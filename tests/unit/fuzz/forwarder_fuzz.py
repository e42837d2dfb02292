"""Fuzzing the forwarder action with datahub-actions envelopes: strategies, fakes and the invariants.

Shared by tests/unit/fuzz/test_fuzz_forwarder.py (bounded, in the suite) and
bench/bench_fuzz_forwarder.py (10,000+ envelopes). Each envelope is built the way the Kafka
source builds it (tests/unit/forwarder/mcl_events.py) and knows, by construction, whose request
it is: GMS's stored copy (the fake graph) holds the request as DataHub wrote it, and the event
may be a corrupted copy of it (truncated, binary, wrong types, huge, another content type).

Invariants checked on every envelope:
- no crash: act() returns True, or raises SendFailed only when SQS was made to fail, or
  DataHubUnavailable only when GMS was (the event is then not acknowledged and comes back);
- no silent drop of our requests: an input change of ours is forwarded, FAILURE-reported, or
  left unacknowledged (SQS or GMS failed); never acknowledged unreported;
  a signal of any executor is forwarded unless its event cannot be read;
- never a FAILURE onto a request that is not ours (another executor's, an unclaimed test
  connection), and never onto a run because of a signal or an unrelated change.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from datahub.configuration.common import OperationalError
from hypothesis import strategies as st

from tests.unit.forwarder.mcl_events import (
    aspect_json,
    execution_input,
    execution_signal,
    mcl_envelope,
    recipe_json,
    ui_test_connection_input,
)

EXECUTOR_IDS = ("remote", "remote-eu")
CLAIMED = ("default",)
OTHER_EXECUTORS = ("default", "edge", "", "REMOTE", "remote ")
URN_PREFIX = "urn:li:dataHubExecutionRequest:"
INPUT = "dataHubExecutionRequestInput"
SIGNAL = "dataHubExecutionRequestSignal"
#: Small, so that "huge" requests are cheap to build (the config's lowest allowed value is 1024).
MAX_MESSAGE_BYTES = 8192


@dataclass
class Envelope:
    """One fuzzed change event and what it is, by construction."""

    envelope: Any
    urn: str | None  # the URN the event names (None: neither entityUrn nor key aspect)
    aspect_name: str
    stored: Any = None  # the ExecutionRequestInputClass GMS holds for the URN, or None
    relevant: bool = True  # an execution-request input/signal UPSERT/CREATE MCL
    readable: bool = True  # its aspect decodes to a JSON object with an executorId string (inputs)
    event_executor: Any = None  # the executorId the readable event names
    event_task: Any = None  # the task the readable event names
    claim: bool = False  # the forwarder under test claims "default" test connections
    kind: str = ""
    sqs_fault: bool = False
    gms_fault: bool = False

    def stored_is_ours(self) -> bool:
        if self.stored is None:
            return False
        if self.stored.executorId in EXECUTOR_IDS:
            return True
        return bool(self.claim and self.stored.task == "TEST_CONNECTION" and self.stored.executorId in CLAIMED)

    def event_is_ours(self) -> bool:
        """Ours by what the event says when it can be read, else by GMS's stored copy."""
        if self.aspect_name != INPUT or not self.relevant or self.urn is None:
            return False
        if self.readable:
            if self.event_executor in EXECUTOR_IDS:
                return True
            return bool(self.claim and self.event_executor in CLAIMED and self.event_task == "TEST_CONNECTION")
        return self.stored_is_ours()


# -- strategies --------------------------------------------------------------------------------
def _new_id(draw: st.DrawFn) -> str:
    return str(uuid.UUID(int=draw(st.integers(min_value=0, max_value=2**128 - 1))))


recipes = st.one_of(
    st.just(recipe_json()),
    st.sampled_from(["", "not json", "[]", '{"source": {"type": "file"}}', "{" * 2000]),
    st.text(max_size=80),
    st.integers(min_value=MAX_MESSAGE_BYTES, max_value=3 * MAX_MESSAGE_BYTES).map(
        lambda n: json.dumps({"source": {"type": "file", "config": {"path": "x" * n}}})  # huge
    ),
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=16))
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)


@st.composite
def stored_inputs(draw: st.DrawFn, urn: str) -> Any:
    executor = draw(st.sampled_from([*EXECUTOR_IDS, *EXECUTOR_IDS, *OTHER_EXECUTORS]))
    if draw(st.integers(0, 4)) == 0:  # what the UI's Test Connection writes (always executorId "default")
        request = ui_test_connection_input(urn, recipe=recipe_json())
        request.executorId = draw(st.sampled_from(["default", "default", *EXECUTOR_IDS]))
        return request
    request = execution_input(executor, recipe=draw(recipes))
    if draw(st.booleans()):
        request.source.type = "SCHEDULED_INGESTION_SOURCE"
    return request


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    return found


@st.composite
def corrupted_value(draw: st.DrawFn, aspect: dict[str, Any]) -> tuple[bytes, bool, Any]:
    """The aspect's bytes as the event carries them: (value, readable, executorId the event names)."""
    text = json.dumps(aspect)
    how = draw(st.sampled_from(["intact", "intact", "truncated", "binary", "wrong type", "not an object", "no id"]))
    if how == "truncated":
        cut = draw(st.integers(min_value=0, max_value=max(0, len(text) - 1)))
        return text[:cut].encode(), False, None
    if how == "binary":
        return draw(st.binary(min_size=1, max_size=64)) + b"\xff", False, None
    if how == "not an object":
        return json.dumps(draw(st.one_of(st.lists(json_scalars, max_size=3), json_scalars))).encode(), False, None
    if how == "no id":
        return json.dumps({k: v for k, v in aspect.items() if k != "executorId"}).encode(), False, None
    if how == "wrong type":
        mutated = json.loads(text)
        path = draw(st.sampled_from(_paths(mutated)))
        parent = mutated
        for key in path[:-1]:
            parent = parent[key]
        replacement = draw(json_values)
        if path == ("executorId",):
            # a string here is another executor's request, not a corruption: keep wrong types only
            replacement = draw(st.one_of(st.integers(), st.lists(json_scalars, max_size=2), st.none()))
        parent[path[-1]] = replacement
        executor = mutated.get("executorId")
        return json.dumps(mutated).encode(), isinstance(executor, str), executor
    executor = aspect.get("executorId")
    return text.encode(), isinstance(executor, str), executor


@st.composite
def envelopes(draw: st.DrawFn) -> Envelope:
    urn = URN_PREFIX + _new_id(draw)
    claim = draw(st.booleans())
    kind = draw(st.sampled_from(["input", "input", "input", "signal", "signal", "unrelated", "no urn"]))
    fields: dict[str, Any] = {}
    event_urn: str | None = urn
    if kind == "no urn":
        event_urn = None
        if draw(st.booleans()):
            fields["entity_key_id"] = urn[len(URN_PREFIX) :]
    relevant = True
    if kind == "unrelated":
        choice = draw(st.sampled_from(["change", "entity", "content"]))
        if choice == "change":
            fields["change_type"] = draw(st.sampled_from(["DELETE", "RESTATE", "PATCH"]))
        elif choice == "entity":
            fields["entity_type"] = draw(st.sampled_from(["dataset", "dataHubIngestionSource"]))
        else:
            fields["content_type"] = draw(st.sampled_from(["application/avro", "text/plain"]))
        relevant = choice == "content"  # another content type is ours but unreadable
    stored = draw(stored_inputs(urn))
    aspect_name = SIGNAL if kind == "signal" else INPUT
    if aspect_name == SIGNAL:
        signal = execution_signal(draw(st.sampled_from([*EXECUTOR_IDS, *OTHER_EXECUTORS])))
        aspect = json.loads(aspect_json(signal))
        if draw(st.booleans()):
            del aspect["executorId"]
    else:
        aspect = json.loads(aspect_json(stored))
    value, _, _ = draw(corrupted_value(aspect))
    decoded = _decode(value)
    executor, task = (decoded or {}).get("executorId"), (decoded or {}).get("task")
    # readable: what the forwarder can decide from; a cancel needs no executorId, an input does
    readable = decoded is not None and not fields.get("content_type")
    if aspect_name == INPUT:
        readable = readable and isinstance(executor, str)
    envelope = mcl_envelope(event_urn, aspect_name, value, **fields)
    known_urn = urn if (event_urn or fields.get("entity_key_id")) else None
    return Envelope(
        envelope=envelope,
        urn=known_urn,
        aspect_name=aspect_name,
        stored=stored if draw(st.integers(0, 9)) else None,  # sometimes GMS no longer has it
        relevant=relevant,
        readable=readable,
        event_executor=executor,
        event_task=task,
        claim=claim,
        kind=kind,
        sqs_fault=draw(st.integers(0, 9)) == 0,
        gms_fault=draw(st.integers(0, 19)) == 0,
    )


def _decode(value: bytes) -> dict[str, Any] | None:
    try:
        decoded = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded if isinstance(decoded, dict) else None


# -- fakes -------------------------------------------------------------------------------------
class FakeSqsFailure(Exception):
    pass


@dataclass
class FakeSender:
    """The SqsSender's interface, in memory; `fail` makes the next send raise SendFailed as the real one does."""

    queue_url: str = "https://sqs.eu-west-1.amazonaws.com/123456789012/datahub-executor-commands"
    fail: bool = False
    sent: list[tuple[str, dict[str, str] | None]] = field(default_factory=list)

    def send(self, body: str, attributes: dict[str, str] | None = None, *, label: str = "message") -> str:
        from executor_forwarder.sqs_sender import SendFailed

        if self.fail:
            raise SendFailed(f"SQS send of {label} failed 5 times (last: ThrottlingException)", code="x", attempts=5)
        self.sent.append((body, attributes))
        return f"msg-{len(self.sent)}"

    def close(self) -> None:
        pass


@dataclass
class FakeGraph:
    """The pipeline's DataHubGraph: GMS's stored request inputs and the results the forwarder writes."""

    stored: dict[str, Any] = field(default_factory=dict)
    fail: bool = False
    results: list[tuple[str, str]] = field(default_factory=list)  # (urn, status)

    def get_aspect(self, entity_urn: str, aspect_type: Any) -> Any:
        if self.fail:  # what DataHubGraph.get_aspect lets through when GMS is unreachable
            raise requests.ConnectionError("injected: GMS unreachable")
        return self.stored.get(entity_urn)

    def emit_mcp(self, mcp: Any) -> None:
        if self.fail:  # DataHubGraph.emit_mcp wraps the requests error
            try:
                raise requests.ConnectionError("injected: GMS unreachable")
            except requests.ConnectionError as exc:
                raise OperationalError("Unable to emit metadata to DataHub GMS", {"message": str(exc)}) from exc
        self.results.append((mcp.entityUrn, mcp.aspect.status))


@dataclass
class _Context:
    graph: Any


@dataclass
class _ActionGraph:
    graph: FakeGraph


def make_action(sender: FakeSender, graph: FakeGraph, *, claim: bool) -> Any:
    from executor_forwarder.action import SqsExecutorForwarderAction
    from executor_forwarder.config import ForwarderConfig

    config = ForwarderConfig(
        queue_url=sender.queue_url,
        executor_ids=list(EXECUTOR_IDS),
        claim_test_connections_for=list(CLAIMED) if claim else [],
        max_message_bytes=MAX_MESSAGE_BYTES,
    )
    return SqsExecutorForwarderAction(config, _Context(_ActionGraph(graph)), sender)  # type: ignore[arg-type]


@contextmanager
def quiet_forwarder_logs() -> Iterator[None]:
    """Thousands of envelopes log a line each: keep errors only, and give the level back afterwards."""
    forwarder_logger = logging.getLogger("executor_forwarder")
    level = forwarder_logger.level
    forwarder_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        forwarder_logger.setLevel(level)


# -- running an envelope and checking it -------------------------------------------------------
@dataclass
class Outcome:
    """What happened to one envelope; `violations` lists every broken invariant."""

    result: str = ""  # forwarded / failure_reported / unacknowledged / unreported / skipped
    violations: list[str] = field(default_factory=list)


def run_envelope(case: Envelope) -> Outcome:
    from executor_forwarder.action import DataHubUnavailable
    from executor_forwarder.sqs_sender import SendFailed

    sender, graph = FakeSender(fail=case.sqs_fault), FakeGraph(fail=case.gms_fault)
    if case.urn and case.stored is not None:
        graph.stored[case.urn] = case.stored
    action = make_action(sender, graph, claim=case.claim)
    outcome = Outcome()
    label = f"{case.kind}/{case.aspect_name} readable={case.readable} executor={case.event_executor!r}"
    try:
        acknowledged = action.act(case.envelope)
    except SendFailed:
        acknowledged = False
        if not case.sqs_fault:
            outcome.violations.append(f"SendFailed without an SQS fault: {label}")
    except DataHubUnavailable:
        acknowledged = False
        if not case.gms_fault:
            outcome.violations.append(f"DataHubUnavailable without a GMS fault: {label}")
    except Exception as exc:  # the invariant "no crash"
        outcome.violations.append(f"crash: {type(exc).__name__}: {str(exc)[:200]} ({label})")
        return outcome
    else:
        if acknowledged is not True:
            outcome.violations.append(f"act() returned {acknowledged!r}: {label}")

    forwarded = [json.loads(body) for body, _ in sender.sent]
    failures = [urn for urn, status in graph.results if status == "FAILURE"]
    for urn in failures:
        if urn != case.urn:
            outcome.violations.append(f"FAILURE written onto another URN {urn}: {label}")
        elif not case.event_is_ours():
            outcome.violations.append(f"FAILURE written onto a request that is not ours: {label}")
    for body in forwarded:
        if body.get("entityUrn") != case.urn:
            outcome.violations.append(f"forwarded under another URN: {label}")
        if body.get("aspectName") == INPUT and not case.event_is_ours():
            outcome.violations.append(f"forwarded an input that is not ours: {label}")

    if forwarded:
        outcome.result = "forwarded"
    elif failures:
        outcome.result = "failure_reported"
    elif not acknowledged:
        outcome.result = "unacknowledged"
    elif action.counts["failure_unreported"]:
        # GMS unreachable is retried (the event stays unacknowledged), so nothing here may go unreported.
        outcome.result = "unreported"
        outcome.violations.append(f"acknowledged although the FAILURE could not be reported: {label}")
    else:
        outcome.result = "skipped"
        if case.event_is_ours():
            outcome.violations.append(f"silent drop: our request was neither forwarded nor failed: {label}")
        elif case.aspect_name == SIGNAL and case.relevant and case.readable and case.urn:
            outcome.violations.append(f"silent drop: a readable cancel was not forwarded: {label}")
    return outcome
