"""The report text, in DataHub's executor layout, within GMS's size bound."""

from __future__ import annotations

import json

from executor_common.results import MAX_REPORT_CHARS, ExecutionRequestResult
from executor_common.status import ExecutionStatus
from executor_runner.report_text import RunOutcome, render_progress, render_report


def test_render_report_success_follows_datahub_layout():
    outcome = RunOutcome(ExecutionStatus.SUCCESS, structured_report=json.dumps({"source": {"type": "x"}}))
    outcome.info("Successfully executed 'datahub ingest'")

    report = render_report("RUN_INGEST", "abc", outcome, "line 1\nline 2")

    lines = report.splitlines()
    assert lines[0] == "~~~~ Execution Summary - RUN_INGEST ~~~~"
    assert lines[1] == "Execution finished successfully!"
    assert lines[2].startswith("{'exec_id': 'abc', 'infos': [")
    assert '  "source": {' in report
    assert report.index("~~~~ Ingestion Report ~~~~") < report.index("~~~~ Ingestion Logs ~~~~\nline 1\nline 2")


def test_render_report_headline_is_first_line_and_survives_bounding():
    outcome = RunOutcome(ExecutionStatus.FAILURE, headline="The ingestion ran out of memory: ...")
    huge_tail = "x" * 200 + "\n"
    huge_structured = json.dumps({"items": ["y" * 100] * 3000})
    outcome.structured_report = huge_structured

    report = render_report("RUN_INGEST", "abc", outcome, huge_tail * 2000)
    bounded = ExecutionRequestResult(status="FAILURE", report=report).bounded().report

    assert len(report) <= MAX_REPORT_CHARS
    assert bounded.splitlines()[0] == "The ingestion ran out of memory: ..."
    assert "ingestion report cut here" in report
    assert report.rstrip().endswith("x" * 200)


def test_render_progress_stale_warning_says_since_when():
    text = render_progress("last line", 1_764_140_000.0, 120)

    assert text.startswith("last line\n\nWARNING: These logs appear to be stale.")
    assert "2025-11-26 06:53:20 UTC" in text


def test_render_progress_no_output_yet():
    assert render_progress("", None, 120) == "No logs yet"
