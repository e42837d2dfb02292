"""Fuzzing the dispatcher's handler with SQS batches: strategies, in-memory fakes and the invariants.

Shared by tests/unit/fuzz/test_fuzz_dispatcher.py (a bounded run in the suite) and
bench/bench_fuzz.py (the long run). Each generated record knows, by construction, what
it is (its URN, executor id, aspect, task), so the oracle does not depend on the code
under test. Faults are injected per record (GMS 503 for its URN, ECS throttling for its
task), at most two per batch: fewer than the breaker's threshold, so a record without a
fault must never come back.

Invariants checked on every batch:
- no crash: the handler returns a partial-batch response;
- no poisoned batch: only records with an injected fault are in batchItemFailures;
- no silent drop: every record is launched, FAILURE-reported, legitimately ignored
  (another executor's, no readable URN, an unknown task, a signal, a duplicate), or
  retried because of its own fault.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from hypothesis import strategies as st

EXECUTOR_ID = "remote"
URN_PREFIX = "urn:li:dataHubExecutionRequest:"
INPUT = "dataHubExecutionRequestInput"
SIGNAL = "dataHubExecutionRequestSignal"
KNOWN_TASKS = {"RUN_INGEST", "TEST_CONNECTION"}
KNOWN_SECRETS = {
    "PG_PASSWORD": "arn:aws:secretsmanager:us-east-1:123456789012:secret:datahub-executor/PG_PASSWORD-AbCdEf"
}
_MISSING = object()

# -- what a record is, by construction ---------------------------------------------------------


@dataclass
class Case:
    body: str
    urn: str | None
    executor_id: Any = _MISSING
    aspect_name: Any = None
    task: Any = None
    duplicate: bool = False
    gms_fault: bool = False
    ecs_fault: bool = False

    @property
    def execution_id(self) -> str | None:
        return self.urn[len(URN_PREFIX) :] if self.urn else None

    def expectation(self) -> str:
        """ "work" (launch or FAILURE), "signal" (no FAILURE), or "nothing" (no write, no launch)."""
        if self.urn is None:
            return "nothing"
        if isinstance(self.executor_id, str) and self.executor_id != EXECUTOR_ID:
            return "nothing"
        if self.aspect_name == SIGNAL:
            return "signal"
        if self.aspect_name == INPUT and isinstance(self.task, str) and self.task not in KNOWN_TASKS:
            return "nothing"
        return "work"


def _valid_urn(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith(URN_PREFIX):
        rest = value[len(URN_PREFIX) :]
        if rest and not any(c.isspace() for c in rest):
            return value
    return None


def case_from_dict(data: dict[str, Any], body: str | None = None) -> Case:
    aspect = data.get("aspect")
    aspect = aspect if isinstance(aspect, dict) else {}
    return Case(
        body=body if body is not None else json.dumps(data),
        urn=_valid_urn(data.get("entityUrn")),
        executor_id=aspect.get("executorId", _MISSING) if aspect.get("executorId") is not None else _MISSING,
        aspect_name=data.get("aspectName"),
        task=aspect.get("task"),
    )


# -- strategies --------------------------------------------------------------------------------
SQLITE = {"source": {"type": "sqlalchemy", "config": {"platform": "sqlite", "connect_uri": "sqlite:////tmp/x.db"}}}
PG = {"source": {"type": "postgres", "config": {"host_port": "db:5432", "password": "${PG_PASSWORD}"}}}

recipes = st.one_of(
    st.sampled_from(
        [
            json.dumps(SQLITE),
            json.dumps(PG),
            json.dumps({"source": {"type": "postgres", "config": {"password": "${NOPE}"}}}),
            json.dumps({**SQLITE, "sink": {"type": "datahub-rest", "config": {"token": "$DATAHUB_GMS_TOKEN"}}}),
            json.dumps({**SQLITE, "sink": {"type": "datahub-rest", "config": {"token": "${DATAHUB_GMS_TOKEN:-x}"}}}),
            '{"source": {"type": "file", "config": ' + "[" * 3000 + "]" * 3000 + "}}",
            '{"source": {"type": "file", "config": {"n": ' + "7" * 5000 + "}}}",
            "not json",
            "",
            "[]",
        ]
    ),
    st.text(max_size=60),
)
env_names = st.one_of(
    st.sampled_from(
        [
            "TZ",
            "AWS_DEFAULT_REGION",
            "AWS_PROFILE",
            "EXECUTOR_TASK_WEIGHT",
            "EXECUTOR_TASK_MEMORY_LIMIT",
            "EXECUTOR_TASK_CPU",
            "EXECUTOR_TASK_MEMORY",
            "EXECUTOR_RUN_TIMEOUT_SECONDS",
            "RUNNER_CHILD_COMMAND",
            "runner_child_command",
            "DATAHUB_GMS_HOST",
            "PIP_INDEX_URL",
            "https_proxy",
            "PATH",
            "PATH\n",
            "PG_PASSWORD",
            "1BAD",
        ]
    ),
    st.text(max_size=12),
)
env_values = st.one_of(st.sampled_from(["1024", "2048", "4096", "8192", "0", "x", ""]), st.text(max_size=12))
versions = st.one_of(
    st.sampled_from(["1.7.0.17", "v1.6.0", "latest", "bundled", "native", "1.0" + "a" * 60 + "!", "1.7.0.17\n", ""]),
    st.text(max_size=70),
)
pip_entries = st.lists(
    st.one_of(st.sampled_from(["pyyaml>=6", "--extra-index-url=http://x", "pkg @ http://x/p.whl", "-r f"]), st.text()),
    max_size=3,
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
#: Raw JSON fragments json.dumps cannot produce from a Python value (or would refuse to parse back).
raw_fragments = st.sampled_from(["[" * 5000 + "]" * 5000, "9" * 5000, "-" + "1" * 4400 + "e999", "1e999999"])


def _new_id(draw: st.DrawFn) -> str:
    return str(uuid.UUID(int=draw(st.integers(min_value=0, max_value=2**128 - 1))))


@st.composite
def run_cases(draw: st.DrawFn) -> Case:
    if draw(st.booleans()):  # what the UI sends: mostly valid, so launches are exercised too
        args: dict[str, Any] = {
            "recipe": draw(st.sampled_from([json.dumps(SQLITE), json.dumps(PG)])),
            "version": draw(st.sampled_from(["1.7.0.17", "v1.6.0", "latest", "native", ""])),
            "debug_mode": draw(st.sampled_from(["false", "true"])),
            "extra_env_vars": json.dumps(
                draw(st.dictionaries(st.sampled_from(["TZ", "AWS_PROFILE", "EXECUTOR_TASK_WEIGHT"]), env_values))
            ),
        }
    else:
        args = {
            "recipe": draw(recipes),
            "version": draw(versions),
            "debug_mode": draw(st.sampled_from(["false", "true", "maybe"])),
            "extra_env_vars": json.dumps(draw(st.dictionaries(env_names, env_values, max_size=4))),
        }
    if draw(st.booleans()):
        args["extra_pip_requirements"] = json.dumps(draw(pip_entries))
    if draw(st.booleans()):
        args["extra_pip_plugins"] = json.dumps(draw(st.lists(st.text(max_size=12), max_size=2)))
    data = {
        "entityUrn": URN_PREFIX + _new_id(draw),
        "aspectName": INPUT,
        "aspect": {
            "task": draw(st.sampled_from(["RUN_INGEST", "RUN_INGEST", "TEST_CONNECTION", "ASSERTION_MONITOR"])),
            "args": args,
            "executorId": draw(st.sampled_from([EXECUTOR_ID, EXECUTOR_ID, EXECUTOR_ID, "default"])),
            "source": {"type": "MANUAL_INGESTION_SOURCE", "ingestionSource": "urn:li:dataHubIngestionSource:x"},
            "requestedAt": 1764140000000,
        },
    }
    return case_from_dict(data)


@st.composite
def kill_cases(draw: st.DrawFn, batch_urns: list[str]) -> Case:
    urn = draw(st.sampled_from(batch_urns)) if batch_urns and draw(st.booleans()) else URN_PREFIX + _new_id(draw)
    aspect: dict[str, Any] = {"signal": draw(st.sampled_from(["KILL", "KILL", "PAUSE"]))}
    executor = draw(st.sampled_from([EXECUTOR_ID, "default", None]))
    if executor is not None:
        aspect["executorId"] = executor
    if draw(st.booleans()):
        aspect["createdAt"] = {"time": 1764140000000, "actor": "urn:li:corpuser:jdoe"}
    return case_from_dict({"entityUrn": urn, "aspectName": SIGNAL, "aspect": aspect})


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


@st.composite
def mutated_cases(draw: st.DrawFn) -> Case:
    """A run message with one part replaced, deleted, or set to a raw fragment (deep nesting, huge number)."""
    data = json.loads(draw(run_cases()).body)
    path = draw(st.sampled_from([p for p in _paths(data) if p]))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    operation = draw(st.sampled_from(["replace", "delete", "raw"]))
    if operation == "delete":
        del parent[path[-1]]
        return case_from_dict(data)
    if operation == "replace":
        parent[path[-1]] = draw(json_values)
        return case_from_dict(data)
    parent[path[-1]] = "__RAW_FRAGMENT__"
    case = case_from_dict(data)
    case.body = json.dumps(data).replace('"__RAW_FRAGMENT__"', draw(raw_fragments), 1)
    if path == ("entityUrn",):
        case.urn = None
    elif path == ("aspect",):
        case.task, case.executor_id = None, _MISSING
    elif path == ("aspect", "executorId"):
        case.executor_id = _MISSING
    elif path == ("aspect", "task"):
        case.task = None
    elif path == ("aspectName",):
        case.aspect_name = None
    return case


garbage_cases = st.one_of(
    st.text(max_size=200), st.sampled_from(["", "{", "null", "[]", '{"entityUrn": 1}', "{" * 10_000])
).map(lambda text: Case(body=text, urn=None))


@st.composite
def batches(draw: st.DrawFn) -> list[Case]:
    """1-10 records, mixed kinds, with duplicates, kills of runs in the batch and at most two faults."""
    cases: list[Case] = []
    for _ in range(draw(st.integers(min_value=1, max_value=10))):
        kind = draw(st.sampled_from(["run", "run", "run", "kill", "mutated", "mutated", "garbage", "duplicate"]))
        if kind == "duplicate" and cases:
            original = draw(st.sampled_from(cases))
            cases.append(Case(**{**original.__dict__, "duplicate": True, "gms_fault": False, "ecs_fault": False}))
            continue
        if kind == "kill":
            cases.append(draw(kill_cases([c.urn for c in cases if c.urn])))
        elif kind == "mutated":
            cases.append(draw(mutated_cases()))
        elif kind == "garbage":
            cases.append(draw(garbage_cases))
        else:
            cases.append(draw(run_cases()))
    # Faults belong to URNs that only one record of the batch has: at most two failing GMS calls per
    # batch, below the breaker's threshold of three, so no record without a fault may come back.
    counts = Counter(c.urn for c in cases if c.urn)
    single = [urn for urn, n in counts.items() if n == 1]
    faulted = draw(st.lists(st.sampled_from(single), max_size=2, unique=True)) if single else []
    for case in cases:
        if case.urn in faulted:
            if draw(st.booleans()):
                case.gms_fault = True
            else:
                case.ecs_fault = True
    return cases


# -- fakes -------------------------------------------------------------------------------------
@dataclass
class FakeWorld:
    """ECS, S3, Secrets Manager, task definitions and GMS, in memory, with per-URN faults."""

    gms_fault_urns: set[str] = field(default_factory=set)
    ecs_fault_started_by: set[str] = field(default_factory=set)
    tasks: dict[str, str] = field(default_factory=dict)  # startedBy -> task ARN
    stopped: set[str] = field(default_factory=set)
    launches: list[str] = field(default_factory=list)  # startedBy of each RunTask that started a task
    writes: list[tuple[str, str]] = field(default_factory=list)  # (urn, status)
    results: dict[str, Any] = field(default_factory=dict)
    objects: dict[str, str] = field(default_factory=dict)

    # ECS adapter
    def tasks_started_by(self, started_by: str) -> list[dict[str, Any]]:
        arn = self.tasks.get(started_by)
        if not arn:
            return []
        status = "STOPPED" if arn in self.stopped else "RUNNING"
        return [{"taskArn": arn, "lastStatus": status, "desiredStatus": status}]

    def run_task(self, request: dict[str, Any]) -> dict[str, Any]:
        # as the ECS adapter does: classified errors, and the clientToken's idempotency (a later call with the
        # token is a ConflictException naming the task: the spec carries the launch time, so parameters differ)
        from executor_common.aws.errors import RunTaskConflict
        from executor_common.errors import RetryableError

        started_by = request["startedBy"]
        if started_by in self.ecs_fault_started_by:
            raise RetryableError("Starting the ECS task (RunTask) failed: ThrottlingException: Rate exceeded")
        if started_by in self.tasks:
            raise RunTaskConflict([self.tasks[started_by]], "client token already used")
        arn = f"arn:aws:ecs:us-east-1:123456789012:task/c/{uuid.uuid4().hex}"
        self.tasks[started_by] = arn
        self.launches.append(started_by)
        return {"taskArn": arn, "lastStatus": "PROVISIONING"}

    def stop_task(self, task_arn: str, reason: str) -> None:
        self.stopped.add(task_arn)

    # S3 adapter
    def put_text(self, bucket: str, key: str, body: str) -> None:
        self.objects[f"{bucket}/{key}"] = body

    # secrets and task definitions
    def resolve(self, names: Any) -> dict[str, str]:
        from executor_common.errors import PermanentError

        missing = [n for n in names if n not in KNOWN_SECRETS]
        if missing:
            raise PermanentError("Unknown secret(s): " + ", ".join(missing))
        return {n: KNOWN_SECRETS[n] for n in names}

    def split(self, names: Any, *, datahub_store: bool) -> tuple[dict[str, str], list[str]]:
        """As SecretResolver.split: Secrets Manager first; the rest left to DataHub's store when it is on."""
        if not datahub_store:
            return self.resolve(names), []
        found = {n: KNOWN_SECRETS[n] for n in names if n in KNOWN_SECRETS}
        return found, sorted({n for n in names if n not in KNOWN_SECRETS})

    def for_secrets(self, secret_arns: dict[str, str], base_arn: str | None = None) -> str:
        return (base_arn or "arn:aws:ecs:us-east-1:123456789012:task-definition/runner:1").rsplit(":", 1)[0] + (
            ":2" if secret_arns else ":1"
        )

    def forget(self, task_definition_arn: str) -> bool:
        return False

    # GMS client
    def read_result(self, urn: str) -> Any:
        self._gms_fault(urn)
        return self.results.get(urn)

    def write_result(self, urn: str, result: Any) -> None:
        self._gms_fault(urn)
        self.results[urn] = result
        report = result.structuredReport
        refused_test = report is not None and json.loads(report.serializedValue).get("internal_failure") is True
        # A refused TEST_CONNECTION is SUCCESS + internal_failure, which DataHub's UI shows as the failure it is.
        self.writes.append((urn, "FAILURE" if refused_test else str(result.status)))

    def _gms_fault(self, urn: str) -> None:
        from executor_common.errors import GmsError

        if urn in self.gms_fault_urns:
            raise GmsError("injected: GMS answered 503", status_code=503)


def make_dependencies(world: FakeWorld) -> Any:
    from dispatcher.gms_guard import GuardedGms
    from dispatcher.logic import Dependencies

    from tests.unit.dispatcher.dispatcher_unit_helpers import make_settings

    return Dependencies(
        settings=make_settings(executor_id=EXECUTOR_ID),
        ecs=world,  # type: ignore[arg-type]
        s3=world,  # type: ignore[arg-type]
        secrets=world,  # type: ignore[arg-type]
        task_definitions=world,  # type: ignore[arg-type]
        gms=GuardedGms(world),  # type: ignore[arg-type]
        clock_ms=lambda: 1764140000000,
    )


# -- running a batch and checking it -----------------------------------------------------------
def sqs_event(cases: list[Case]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{index}",
                "receiptHandle": f"rh-{index}",
                "body": case.body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1764140000000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1764140000000",
                },
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:datahub-executor-commands",
                "awsRegion": "us-east-1",
            }
            for index, case in enumerate(cases)
        ]
    }


@contextmanager
def quiet_handler() -> Iterator[Callable[[dict[str, Any], Any], dict[str, Any]]]:
    """The real lambda_handler, logging only errors (thousands of batches would flood the output)."""
    from dispatcher import handler
    from dispatcher.observability import logger

    level = logger.log_level
    logger.setLevel("ERROR")
    try:
        provider = handler.metrics.provider
        with mock.patch.object(provider, "flush_metrics", lambda *a, **k: provider.clear_metrics()):
            yield handler.lambda_handler
    finally:
        logger.setLevel(level)


@dataclass
class BatchOutcome:
    retried: int = 0
    launched: int = 0
    failure_reported: int = 0
    ignored: int = 0
    signals: int = 0
    violations: list[str] = field(default_factory=list)


def run_batch(cases: list[Case], lambda_handler: Callable[..., dict[str, Any]], context: Any) -> BatchOutcome:
    """Handle one batch with fresh fakes; the outcome counts each record and lists every violated invariant."""
    from dispatcher import handler
    from dispatcher.planner import started_by_for

    world = FakeWorld(
        gms_fault_urns={c.urn for c in cases if c.gms_fault and c.urn},
        ecs_fault_started_by={started_by_for(c.execution_id) for c in cases if c.ecs_fault and c.execution_id},
    )
    deps = make_dependencies(world)
    outcome = BatchOutcome()
    with mock.patch.object(handler, "dependencies", lambda: deps):
        try:
            response = lambda_handler(sqs_event(cases), context)
        except Exception as exc:  # the invariant "no crash"
            outcome.violations.append(f"crash: {type(exc).__name__}: {str(exc)[:200]}")
            return outcome
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
    launched = Counter(world.launches)
    failure_urns = {urn for urn, status in world.writes if status == "FAILURE"}
    written_urns = {urn for urn, _ in world.writes}
    cancelled_urns = {urn for urn, status in world.writes if status == "CANCELLED"}
    for index, case in enumerate(cases):
        message_id = f"m-{index}"
        faulted = case.gms_fault or case.ecs_fault
        expected = case.expectation()
        label = f"record {index} ({expected}, {case.body[:80]!r})"
        if message_id in failed:
            outcome.retried += 1
            if not faulted:
                outcome.violations.append(f"poisoned: {label} came back without a fault of its own")
            continue
        if expected == "nothing":
            outcome.ignored += 1
            if case.urn and case.urn in written_urns and not _urn_shared(cases, case):
                outcome.violations.append(f"wrote to DataHub for a message that is not ours: {label}")
            if case.execution_id and launched[started_by_for(case.execution_id)] and not _urn_shared(cases, case):
                outcome.violations.append(f"launched a message that is not ours: {label}")
        elif expected == "signal":
            outcome.signals += 1
            if case.urn in failure_urns and not _urn_shared(cases, case):
                outcome.violations.append(f"a signal wrote FAILURE: {label}")
        else:
            was_launched = bool(case.execution_id and launched[started_by_for(case.execution_id)])
            was_failed = case.urn in failure_urns
            if was_launched:
                outcome.launched += 1
            elif was_failed:
                outcome.failure_reported += 1
            elif case.duplicate or faulted or case.urn in cancelled_urns:
                # a redelivery of work already done, work whose fault was swallowed, or a run cancelled
                # (by a KILL earlier in the batch) before it launched: all legitimately not launched
                outcome.ignored += 1
            else:
                outcome.violations.append(f"silent drop: {label} was neither launched, failed nor retried")
    return outcome


def _urn_shared(cases: list[Case], case: Case) -> bool:
    """Another record of the batch has the same URN (a kill of a run, a duplicate): effects are theirs too."""
    return sum(1 for other in cases if other.urn == case.urn) > 1
