"""Fuzzed ECS Task State Change events, in SQS batches, through the reconciler's real handler.

DataHub is an in-memory GMS that may fail any call (a 503) and starts each run in any state a
real run can be in (nothing yet, PENDING/RUNNING, a runner's terminal status, our own earlier
diagnosis of this or another task). Properties, for every batch:
- the handler never raises: a record either succeeds or is a batch item failure;
- a record fails only for a reason a retry can fix (GMS failed) or an event that is not one at all;
- every write is a terminal status ending in the marker of the STOPPED event of our cluster that made it,
  over a state that may be replaced (nothing, not final, our own older diagnosis of the same task, or
  the runner's CANCELLED when ECS says the stop was a Spot reclaim, a termination notice or the backstop);
- nothing is lost: a STOPPED event of our cluster naming a run that is not final gets it a final status,
  unless GMS failed (then the record comes back).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from executor_common.errors import GmsError
from executor_common.results import ExecutionRequestResult
from executor_common.runspec import CANCEL_REASON_PREFIX
from executor_common.status import ExecutionStatus, is_terminal
from executor_common.stop_reasons import BACKSTOP_REASON_PREFIX
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reconciler.ordering import marker, parse_marker

from tests.support.aws_harness import lambda_context, set_lambda_env

CLUSTER = "datahub-remote-executor"
CLUSTER_ARN = f"arn:aws:ecs:us-east-1:123456789012:cluster/{CLUSTER}"
URN_PREFIX = "urn:li:dataHubExecutionRequest:"
TASK_IDS = ["0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"]
RUN_IDS = ["run-a", "run-b", "run-c"]
NOT_A_CANCEL_CODES = {"SpotInterruption", "TerminationNotice"}
#: Batches per run: bounded for the suite (about 10 s); RECONCILER_FUZZ_EXAMPLES=10000 for the long run.
FUZZ_EXAMPLES = int(os.environ.get("RECONCILER_FUZZ_EXAMPLES", "400"))

text = st.text(max_size=40)
maybe_text = st.none() | text


@dataclass
class FakeGms:
    """DataHub's result aspects in memory; `fail` makes the next calls answer 503."""

    results: dict[str, ExecutionRequestResult]
    fail_reads: bool = False
    fail_writes: bool = False
    writes: list[tuple[str, ExecutionRequestResult | None, ExecutionRequestResult]] = field(default_factory=list)

    def read_result(self, urn: str) -> ExecutionRequestResult | None:
        if self.fail_reads:
            raise GmsError("GMS answered HTTP 503", status_code=503)
        return self.results.get(urn)

    def write_result(self, urn: str, result: ExecutionRequestResult) -> None:
        if self.fail_writes:
            raise GmsError("GMS answered HTTP 503", status_code=503)
        self.writes.append((urn, self.results.get(urn), result))
        self.results[urn] = result


# -- strategies --------------------------------------------------------------------------------
def _stamp(offset: int) -> str:
    return (datetime(2026, 11, 26, 8, tzinfo=UTC) + timedelta(seconds=offset)).isoformat()


containers = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(["runner", "sidecar", ""]) | text,
            "lastStatus": st.sampled_from(["STOPPED", "RUNNING"]),
        },
        optional={
            "exitCode": st.none() | st.sampled_from([0, 1, 2, 3, 137, 143]) | st.integers(-(2**31), 2**31),
            "reason": st.sampled_from(["OutOfMemoryError: Container killed", "CannotPullContainerError: x"]) | text,
            "image": text,
        },
    ),
    max_size=3,
)
stopped_reasons = (
    st.sampled_from(
        [
            f"{CANCEL_REASON_PREFIX} by urn:li:corpuser:datahub",
            f"{BACKSTOP_REASON_PREFIX}: running for 1d 15m, longer than its timeout 1d (+15m grace)",
            "Your Spot Task was interrupted.",
            "Essential container in task exited",
            "ResourceInitializationError: unable to pull secrets or registry auth",
        ]
    )
    | maybe_text
)
urn_values = st.sampled_from([URN_PREFIX + r for r in RUN_IDS]) | st.sampled_from(["", "urn:li:other:x", URN_PREFIX])
odd_env = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(["EXECUTOR_EXECUTION_REQUEST_URN", "EXECUTOR_RUN_TIMEOUT_SECONDS"]) | text,
            "value": urn_values | st.sampled_from(["86400", "x"]) | text,
        }
    ),
    max_size=3,
)
#: Mostly what the dispatcher sets (the run's URN first), sometimes anything.
env = (
    st.builds(
        lambda urn, rest: [{"name": "EXECUTOR_EXECUTION_REQUEST_URN", "value": urn}, *rest],
        st.sampled_from([URN_PREFIX + r for r in RUN_IDS]),
        odd_env,
    )
    | odd_env
)
details = st.fixed_dictionaries(
    {
        "taskArn": st.sampled_from([f"arn:aws:ecs:us-east-1:123456789012:task/{CLUSTER}/{t}" for t in TASK_IDS]),
        "lastStatus": st.sampled_from(["STOPPED"] * 4 + ["RUNNING", "PENDING", "DEPROVISIONING"]),
        "clusterArn": st.sampled_from([CLUSTER_ARN] * 4 + ["arn:aws:ecs:us-east-1:1:cluster/other", ""]),
        "version": st.integers(0, 8),
        "overrides": st.fixed_dictionaries(
            {
                "containerOverrides": st.lists(
                    st.fixed_dictionaries({"name": st.just("runner"), "environment": env}), min_size=1, max_size=2
                )
            }
        ),
    },
    optional={
        "stopCode": st.sampled_from(
            ["EssentialContainerExited", "UserInitiated", "TaskFailedToStart", *NOT_A_CANCEL_CODES]
        )
        | maybe_text,
        "stoppedReason": stopped_reasons,
        "containers": containers,
        "startedBy": st.sampled_from([*RUN_IDS, "ecs-svc/123", ""]) | maybe_text,
        "group": st.sampled_from(["ingestion:src-1", "service:web", "family:x"]) | maybe_text,
        "memory": st.sampled_from(["4096", "x", ""]),
        "createdAt": st.integers(0, 100).map(_stamp),
        "startedAt": st.integers(100, 200).map(_stamp),
        "stoppedAt": st.integers(200, 90_000).map(_stamp),
    },
)
events = st.builds(
    lambda detail, extra: {
        "version": "0",
        "id": "e",
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "account": "123456789012",
        "region": "us-east-1",
        "resources": [detail["taskArn"]],
        "detail": detail,
        **extra,
    },
    details,
    st.dictionaries(st.sampled_from(["time", "x-extra"]), st.just("2026-11-26T08:41:35Z"), max_size=1),
)
not_events = st.sampled_from(["{not json", "[]", "null", '{"detail": 5}', '{"detail": {"taskArn": 7}}'])


def _our_report(task_index: int, version: int) -> str:
    return "earlier diagnosis\n" + marker(TASK_IDS[task_index], version)


results = st.one_of(
    st.builds(
        lambda status: ExecutionRequestResult(status=status, report="the runner's report", startTimeMs=1),
        st.sampled_from(list(ExecutionStatus)),
    ),
    st.builds(
        lambda status, task, version: ExecutionRequestResult(status=status, report=_our_report(task, version)),
        st.sampled_from([ExecutionStatus.FAILURE, ExecutionStatus.ABORTED, ExecutionStatus.CANCELLED]),
        st.integers(0, 1),
        st.integers(0, 8),
    ),
)
datahub_states = st.fixed_dictionaries({}, optional={URN_PREFIX + r: results for r in RUN_IDS})
bodies = st.lists(events.map(json.dumps) | not_events, min_size=1, max_size=6)


# -- the oracle --------------------------------------------------------------------------------
def _event_of(body: str) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    detail = data.get("detail") if isinstance(data, dict) else None
    return data if isinstance(detail, dict) and isinstance(detail.get("taskArn"), str) else None


def _without_cluster(body: str) -> str:
    event = _event_of(body)
    if event is None:
        return body
    event["detail"].pop("clusterArn", None)
    return json.dumps(event)


def _may_replace(before: ExecutionRequestResult | None, event: dict[str, Any], after: ExecutionRequestResult) -> bool:
    """Whether `after`, written because of `event`, may replace `before`: the safety rule, stated on its own."""
    detail = event["detail"]
    if before is None or not is_terminal(before.status):
        return True
    ours = parse_marker(before.report)
    task_id = detail["taskArn"].rsplit("/", 1)[-1]
    if ours is not None:
        return ours[0] == task_id and detail["version"] > ours[1]
    not_a_cancel = detail.get("stopCode") in NOT_A_CANCEL_CODES or str(detail.get("stoppedReason") or "").startswith(
        BACKSTOP_REASON_PREFIX
    )
    return before.status == ExecutionStatus.CANCELLED and not_a_cancel and after.status != ExecutionStatus.CANCELLED


def _override_urn(detail: dict[str, Any]) -> str | None:
    """The run named by the runner's override (the first non-empty EXECUTOR_EXECUTION_REQUEST_URN), if valid."""
    for override in (detail.get("overrides") or {}).get("containerOverrides", []):
        for pair in override.get("environment", []):
            if pair["name"] == "EXECUTOR_EXECUTION_REQUEST_URN" and pair["value"]:
                return pair["value"] if pair["value"] in {URN_PREFIX + r for r in RUN_IDS} else None
    return None


@pytest.fixture
def reconciler_env(monkeypatch: pytest.MonkeyPatch):
    from reconciler.handler import get_ports, get_queue
    from reconciler.settings import get_settings

    set_lambda_env(
        monkeypatch,
        region="us-east-1",
        service="reconciler",
        ECS_CLUSTER=CLUSTER,
        DATAHUB_GMS_URL="http://datahub-gms:8080",
        DATAHUB_GMS_TOKEN="unused",
        REPORT_GRACE_SECONDS="0",
    )
    monkeypatch.delenv("LOG_GROUP_NAME", raising=False)
    monkeypatch.delenv("RECONCILER_QUEUE_URL", raising=False)
    for cache in (get_settings, get_ports, get_queue):
        cache.cache_clear()
    yield
    for cache in (get_settings, get_ports, get_queue):
        cache.cache_clear()


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    bodies=bodies,
    state=datahub_states,
    fail_reads=st.sampled_from([False, False, False, True]),
    fail_writes=st.sampled_from([False, False, False, True]),
    drop_cluster=st.sampled_from([False] * 5 + [True]),
)
def test_reconciler_fuzzed_batches_never_crash_lose_or_overwrite(
    reconciler_env, monkeypatch, bodies, state, fail_reads, fail_writes, drop_cluster
):
    import reconciler.handler as handler
    from reconciler.logic import ReconcilerPorts
    from reconciler.settings import get_settings

    if drop_cluster:  # an event that names no cluster is not one of ours
        bodies = [_without_cluster(body) for body in bodies]
    gms = FakeGms(dict(state), fail_reads=fail_reads, fail_writes=fail_writes)
    ports = ReconcilerPorts(settings=get_settings(), gms=gms, logs=None)  # type: ignore[arg-type]
    monkeypatch.setattr(handler, "get_ports", lambda: ports)
    before = dict(gms.results)
    batch = {
        "Records": [
            {
                "messageId": f"m-{i}",
                "receiptHandle": "r",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:reconciler",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }

    # WHEN the batch arrives: the handler never raises
    response = handler.lambda_handler(batch, lambda_context("ReconcilerFunction", "us-east-1"))

    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    by_version = {}
    for index, body in enumerate(bodies):
        event = _event_of(body)
        if event is not None:
            detail = event["detail"]
            by_version.setdefault((detail["taskArn"].rsplit("/", 1)[-1], detail["version"]), []).append(event)
        # THEN a record fails only when a retry can help, or when it is not an event at all
        if f"m-{index}" in failed:
            assert event is None or gms.fail_reads or gms.fail_writes, body

    # AND every write is a terminal status, marked with the event that made it, over a replaceable state
    for urn, previous, written in gms.writes:
        assert is_terminal(written.status)
        task_id, version = parse_marker(written.report) or ("?", -1)
        candidates = [
            e
            for e in by_version.get((task_id, version), [])
            if e["detail"]["lastStatus"] == "STOPPED" and e["detail"].get("clusterArn") == CLUSTER_ARN
        ]
        assert candidates, f"a write no STOPPED event of our cluster explains: {written.report[-200:]}"
        assert any(_may_replace(previous, e, written) for e in candidates), (previous, written.status)
        # (to the run the event names: the runner's override, or startedBy for a run DataHub knew)
        named = {_override_urn(e["detail"]) for e in candidates} | {
            URN_PREFIX + str(e["detail"].get("startedBy")) for e in candidates if previous is not None
        }
        assert urn in named, urn

    # AND nothing is lost: a STOPPED event of ours naming a run that was not final leaves it final
    if not gms.fail_reads and not gms.fail_writes:
        for body in bodies:
            event = _event_of(body)
            if event is None or failed:
                continue
            detail = event["detail"]
            urn = _override_urn(detail)
            if detail["lastStatus"] != "STOPPED" or detail.get("clusterArn") != CLUSTER_ARN or urn is None:
                continue
            if urn in before and is_terminal(before[urn].status):
                continue
            assert gms.results.get(urn) is not None and is_terminal(gms.results[urn].status), urn
