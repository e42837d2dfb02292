"""GMS trouble never changes what the ingestion does: progress is dropped, the terminal write retried."""

from __future__ import annotations

import json

from executor_common.results import MAX_REPORT_CHARS, MAX_STRUCTURED_REPORT_CHARS
from runner_harness import child, make_spec


def test_runner_gms_500_for_a_while_terminal_status_still_lands(runner, gms_standin):
    # GIVEN GMS answers 500 to the next 12 requests (kickoff and progress included)
    spec = make_spec("gms-500-1")
    gms_standin.fail_next(12, status=500)

    result = runner.run(spec, child=child("exit_code.py", "0"), timeout=60)

    # THEN the run still succeeds and DataHub ends with SUCCESS
    assert result.returncode == 0, result.stderr
    assert gms_standin.result(spec.execution_request_urn)["status"] == "SUCCESS"


def test_runner_gms_401_logged_loudly_and_exit_code_reflects_ingestion(runner, gms_standin):
    # GIVEN a token GMS refuses
    spec = make_spec("gms-401-1")
    extra = {
        "DATAHUB_GMS_TOKEN": "not-the-token",
    }

    result = runner.run(spec, extra, timeout=60, child=child("exit_code.py", "0"))

    # THEN nothing is written, the refusal is in the log, and the exit code is the ingestion's (0)
    assert result.returncode == 0
    assert gms_standin.result(spec.execution_request_urn) is None
    assert "HTTP 401" in result.stderr
    assert "COULD NOT REPORT SUCCESS" in result.stderr
    assert "not-the-token" not in result.stderr + result.stdout


def test_runner_slow_gms_never_stalls_the_child(runner, gms_standin):
    # GIVEN a GMS that takes 2 s per answer and a child printing 200k lines
    spec = make_spec("gms-slow-1")
    gms_standin.delay_seconds = 2.0
    extra = {"RUNNER_PROGRESS_INTERVAL_SECONDS": "0.1"}

    result = runner.run(spec, extra, timeout=90, child=child("flood.py", "200000"))

    # THEN every line was relayed and the run still ends with SUCCESS in DataHub
    assert result.returncode == 0, result.stderr[-2000:]
    relayed = result.stdout.split("===== final report =====")[0]
    assert relayed.count("emitted workunit") == 200_000
    assert "flood done" in relayed
    assert gms_standin.result(spec.execution_request_urn)["status"] == "SUCCESS"


def test_runner_oversized_structured_report_is_trimmed_field_by_field_and_status_lands(runner, gms_standin):
    # GIVEN a child whose structured report (summary, counts, warnings, one huge list) is over 400,000 characters
    spec = make_spec("big-report-1")

    result = runner.run(spec, child=child("big_report.py", "{report_file}"))

    # THEN DataHub gets the report trimmed, not dropped: counts and warnings kept, the long lists cut
    assert result.returncode == 0, result.stderr
    final = gms_standin.result(spec.execution_request_urn)
    assert final["status"] == "SUCCESS"
    structured = json.loads(final["structuredReport"]["serializedValue"])
    assert len(final["structuredReport"]["serializedValue"]) <= MAX_STRUCTURED_REPORT_CHARS
    report = structured["source"]["report"]
    assert report["events_produced"] == 40_123
    assert structured["sink"]["report"]["total_records_written"] == 40_123
    assert report["warnings"][0]["title"] == "Permission denied"
    assert "more entries cut" in report["tables_scanned"][-1]
    assert len(final["report"]) <= MAX_REPORT_CHARS
    # nothing is lost: the whole report went to stdout
    assert "shop.public.table_0039999" in result.stdout
