"""Fuzzing the dispatcher handler with SQS batches (issue 10): no crash, no poisoned batch, no silent drop.

Bounded for the suite (200 batches, about ten seconds); bench/bench_fuzz.py runs 10,000+.
The strategies, fakes and invariants are in dispatcher_fuzz.py.
"""

from __future__ import annotations

import os

os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "DataHubRemoteExecutor")

from hypothesis import HealthCheck, given, settings

from tests.support.aws_harness import lambda_context
from tests.unit.fuzz.dispatcher_fuzz import Case, batches, case_from_dict, quiet_handler, run_batch


def _context():
    """A fresh invocation's context: the dispatcher checks the time left, which runs from its creation."""
    return lambda_context("DispatcherFunction", "us-east-1")


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(batch=batches())
def test_fuzz_dispatcher_batches_never_crash_poison_or_drop(batch: list[Case]):
    with quiet_handler() as handler:
        outcome = run_batch(batch, handler, _context())
    assert outcome.violations == []


def _run_case(execution_id: str) -> Case:
    body = {
        "entityUrn": f"urn:li:dataHubExecutionRequest:{execution_id}",
        "aspectName": "dataHubExecutionRequestInput",
        "aspect": {"task": "RUN_INGEST", "args": {"recipe": "{}"}, "executorId": "remote", "requestedAt": 1},
    }
    return case_from_dict(body)


def test_fuzz_oracle_reports_a_poisoned_batch():
    """The invariants can fail: a handler that fails every record poisons the batch."""

    def failing_handler(event, context):
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    outcome = run_batch([_run_case("a"), _run_case("b")], failing_handler, _context())
    assert len(outcome.violations) == 2 and all("poisoned" in v for v in outcome.violations)


def test_fuzz_oracle_reports_a_silent_drop_and_a_crash():
    def dropping_handler(event, context):
        return {"batchItemFailures": []}

    def crashing_handler(event, context):
        raise RecursionError("maximum recursion depth exceeded")

    dropped = run_batch([_run_case("c")], dropping_handler, _context())
    assert dropped.violations and "silent drop" in dropped.violations[0]
    crashed = run_batch([_run_case("d")], crashing_handler, _context())
    assert crashed.violations == ["crash: RecursionError: maximum recursion depth exceeded"]
