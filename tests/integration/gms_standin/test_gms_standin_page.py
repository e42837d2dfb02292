"""The stand-in's page lists the runs, newest first, escaped, and renders in a real headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from local_stack.gms_standin import GmsStandIn
from local_stack.screenshot import CHROMIUM, chromium_screenshot
from tests.support.png import png_summary

WIDTH, HEIGHT = 1280, 800
OLD, FAILED, RUNNING = (f"urn:li:dataHubExecutionRequest:page-{n}" for n in ("old", "failed", "running"))


@pytest.fixture
def standin_with_runs(gms_standin: GmsStandIn) -> GmsStandIn:
    gms_standin.seed_result(OLD, {"status": "SUCCESS", "startTimeMs": 1_764_140_000_000, "durationMs": 61_000})
    report = "\n".join(f"report line {i}" for i in range(30)) + "\n<script>alert('x')</script>"
    gms_standin.seed_result(FAILED, {"status": "FAILURE", "report": report, "startTimeMs": 1_764_140_100_000})
    gms_standin.seed_result(RUNNING, {"status": "RUNNING", "report": "Started", "startTimeMs": 1_764_140_200_000})
    return gms_standin


def test_page_lists_runs_newest_first_with_escaped_report_tails(standin_with_runs: GmsStandIn) -> None:
    response = requests.get(standin_with_runs.page_url, timeout=5)

    html = response.text
    assert response.headers["Content-Type"].startswith("text/html")
    assert '<meta http-equiv="refresh" content="2">' in html
    assert html.index(RUNNING) < html.index(FAILED) < html.index(OLD)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "report line 29" in html and "report line 11" in html
    assert "report line 10\n" not in html  # only the last 20 lines are shown
    assert ">SUCCESS<" in html and ">FAILURE<" in html and ">RUNNING<" in html
    assert "2025-11-26 06:53:20 UTC" in html and "61.0 s" in html


def test_page_without_runs_says_so(gms_standin: GmsStandIn) -> None:
    assert "No execution requests yet." in requests.get(gms_standin.page_url, timeout=5).text


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed (apt-get install -y chromium)")
def test_page_renders_in_headless_chromium(standin_with_runs: GmsStandIn, tmp_path: Path) -> None:
    screenshot = tmp_path / "page.png"

    chromium_screenshot(standin_with_runs.page_url, screenshot, width=WIDTH, height=HEIGHT)

    assert screenshot.exists(), "chromium wrote no screenshot"
    width, height, colours = png_summary(screenshot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    assert colours > 20, "the screenshot looks blank"
    assert any(r["path"] == "/" for r in standin_with_runs.requests), "chromium never asked the stand-in"


def test_page_shows_the_runner_head_with_cost_and_size_above_a_long_log_tail(gms_standin: GmsStandIn) -> None:
    # GIVEN a final report as the runner writes it: notes above DataHub's summary, then a long log
    from executor_common.status import ExecutionStatus
    from executor_runner.report_text import RunOutcome, render_report

    notes = ["Estimated cost: $0.0010 (Fargate on-demand; ...)", "Memory: peak 0.2 GiB of 4.0 GiB: ... would do"]
    log = "\n".join(f"ingestion line {i}" for i in range(60))
    report = render_report("RUN_INGEST", "page-cost", RunOutcome(status=ExecutionStatus.SUCCESS), log, notes=notes)
    gms_standin.seed_result(f"{OLD}-cost", {"status": "SUCCESS", "report": report})

    # WHEN the page is read
    html = requests.get(gms_standin.page_url, timeout=5).text

    # THEN the notes are in the head block, once, and the tail still ends the cell
    head = html[html.index('<pre class="head">') : html.index("</pre>")]
    assert "Estimated cost: $0.0010" in head and "would do" in head
    assert html.count("Estimated cost:") == 1
    assert "ingestion line 59" in html and "ingestion line 30" not in html
