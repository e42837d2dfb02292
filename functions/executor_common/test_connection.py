"""A TEST_CONNECTION that could not run, in the shape DataHub's UI shows in its test-connection modal.

DataHub's own code reports "the test could not be run" as a *successful* execution whose structured
report (type `TEST_CONNECTION`) is a `TestConnectionReport` with `internal_failure: true` and
`internal_failure_reason` (`datahub.ingestion.run.connection`, `datahub.executor.wrappers.
run_test_connection`); the modal then shows the reason. A bare FAILURE makes the UI show a generic
error toast instead. The runner and the dispatcher both use this for refusals (unknown secret,
failed install, invalid recipe).
"""

from __future__ import annotations

import json

from executor_common.results import ExecutionRequestResult, StructuredExecutionReport
from executor_common.status import ExecutionStatus

TEST_CONNECTION_REPORT_TYPE = "TEST_CONNECTION"


def internal_failure_report(reason: str) -> str:
    """The serialized `TestConnectionReport` for a test that could not run."""
    return json.dumps({"internal_failure": True, "internal_failure_reason": reason})


def refused_test_connection(
    reason: str, *, report: str | None = None, start_time_ms: int | None = None, duration_ms: int | None = None
) -> ExecutionRequestResult:
    """SUCCESS with the internal-failure report: what DataHub's UI needs to show `reason`."""
    return ExecutionRequestResult(
        status=ExecutionStatus.SUCCESS,
        report=report if report is not None else reason,
        structuredReport=StructuredExecutionReport(
            type=TEST_CONNECTION_REPORT_TYPE, serializedValue=internal_failure_report(reason)
        ),
        startTimeMs=start_time_ms,
        durationMs=duration_ms,
    )
