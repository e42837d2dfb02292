"""Stateless ordering: DataHub's own result (and our marker in it) is the only state."""

from __future__ import annotations

import pytest
from executor_common.results import ExecutionRequestResult, tail_text
from executor_common.status import ExecutionStatus
from reconciler.ordering import decide, marker, parse_marker


def _result(status: str, report: str | None = None) -> ExecutionRequestResult:
    return ExecutionRequestResult(status=ExecutionStatus(status), report=report)


@pytest.mark.parametrize(
    ("current", "version", "write"),
    [
        (None, 1, True),
        (_result("RUNNING"), 1, True),
        (_result("PENDING"), 1, True),
        (_result("SUCCESS", "ingestion done"), 9, False),
        (_result("CANCELLED"), 9, False),
        (_result("FAILURE", "x\n" + marker("task-a", 3)), 4, True),
        (_result("FAILURE", "x\n" + marker("task-a", 3)), 3, False),
        (_result("FAILURE", "x\n" + marker("task-a", 5)), 4, False),
        (_result("FAILURE", "x\n" + marker("task-b", 1)), 9, False),
    ],
    ids=[
        "no-result",
        "running",
        "pending",
        "runner-success",
        "runner-cancelled",
        "ours-older-version",
        "ours-same-version-duplicate",
        "ours-newer-version",
        "ours-other-task",
    ],
)
def test_decide_writes_only_over_non_terminal_or_our_older_diagnosis(current, version, write):
    assert decide(current, "task-a", version).write is write


def test_marker_survives_the_report_tail_bound():
    report = "headline\n" + "log line\n" * 20_000 + marker("abc", 7)

    assert parse_marker(tail_text(report, 60_000)) == ("abc", 7)


def test_marker_only_counts_at_the_very_end():
    # a log line quoting an old marker must not be read as ours
    report = marker("abc", 7) + "\nthen the runner wrote SUCCESS"

    assert parse_marker(report) is None


@pytest.mark.parametrize(
    ("current", "write"),
    [
        (_result("CANCELLED", "the runner's report"), True),  # the runner's CANCELLED on SIGTERM
        (_result("SUCCESS", "ingestion done"), False),
        (_result("FAILURE", "the runner's failure"), False),
        (_result("ABORTED", "x\n" + marker("task-a", 5)), False),  # our own correction, duplicate delivery
    ],
    ids=["runner-cancelled", "runner-success", "runner-failure", "ours-already"],
)
def test_decide_not_a_cancel_replaces_only_a_runner_cancelled(current, write):
    assert decide(current, "task-a", 5, replaces_cancelled=True).write is write
