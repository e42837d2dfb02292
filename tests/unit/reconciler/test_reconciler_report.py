"""The report: diagnosis first, facts, log tail, ordering marker last."""

from __future__ import annotations

from executor_common.results import MAX_REPORT_CHARS, ExecutionRequestResult
from executor_common.status import ExecutionStatus
from reconciler.diagnosis import diagnose
from reconciler.ordering import parse_marker
from reconciler.report import build_report
from reconciler_builders import container, detail


def test_report_keeps_the_diagnosis_even_with_huge_log_lines():
    # GIVEN 50 log lines of 50,000 characters each
    diagnosis = diagnose(detail(containers=[container(exit_code=137)]))
    lines = ["x" * 50_000] * 50

    report = build_report(diagnosis, task_id="t1", version=4, log_location="group g, stream s", log_lines=lines)
    bounded = ExecutionRequestResult(status=ExecutionStatus.FAILURE, report=report).bounded().report

    assert len(report) <= MAX_REPORT_CHARS
    assert bounded == report
    assert report.startswith(diagnosis.headline)
    assert parse_marker(report) == ("t1", 4)


def test_report_says_when_the_log_is_missing_or_unreadable():
    diagnosis = diagnose(detail())

    empty = build_report(diagnosis, task_id="t", version=1, log_location="L", log_lines=[])
    broken = build_report(diagnosis, task_id="t", version=1, log_location="L", log_lines=None, log_problem="throttled")
    unset = build_report(diagnosis, task_id="t", version=1, log_location=None, log_lines=None)

    assert "has no lines" in empty
    assert "could not be read: throttled" in broken
    assert "No log location is configured" in unset
