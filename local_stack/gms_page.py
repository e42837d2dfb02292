"""The stand-in's HTML page: the runs DataHub would show on its Ingestion page, newest first.

Every value is html-escaped (reports are arbitrary ingestion output). The page refreshes
itself every 2 seconds so a developer can watch a local run progress. Each report shows its
head (what the runner writes above DataHub's summary: the headline, full-log links, the cost
line and the right-size hint) and its last lines, so a long log does not hide the cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any

from executor_runner.report_text import SUMMARY_BANNER

from local_stack.gms_store import INPUT_ASPECT, RESULT_ASPECT

REPORT_TAIL_LINES = 20
REPORT_HEAD_LINES = 12
REFRESH_SECONDS = 2

_STATUS_COLOURS = {
    "RUNNING": "#1f6feb",
    "SUCCESS": "#1a7f37",
    "FAILURE": "#cf222e",
    "CANCELLED": "#9a6700",
    "ABORTED": "#9a6700",
    "TIMEOUT": "#cf222e",
}


@dataclass(frozen=True)
class RunRow:
    """One execution request as the page shows it."""

    urn: str
    status: str
    source: str
    start_time_ms: int | None
    duration_ms: int | None
    report: str

    @classmethod
    def from_aspects(cls, urn: str, aspects: dict[str, Any]) -> RunRow:
        result = aspects.get(RESULT_ASPECT) or {}
        request = aspects.get(INPUT_ASPECT) or {}
        source = request.get("source") or {}
        return cls(
            urn=urn,
            status=str(result.get("status") or "PENDING"),
            source=str(source.get("ingestionSource") or source.get("type") or ""),
            start_time_ms=result.get("startTimeMs") or request.get("requestedAt"),
            duration_ms=result.get("durationMs"),
            report=str(result.get("report") or ""),
        )


def report_tail(report: str, lines: int = REPORT_TAIL_LINES) -> str:
    return "\n".join(report.splitlines()[-lines:])


def report_head(report: str, lines: int = REPORT_HEAD_LINES, tail_lines: int = REPORT_TAIL_LINES) -> str:
    """The runner's lines above DataHub's summary, unless the tail shows them anyway ("" when there are none)."""
    all_lines = report.splitlines()
    banner = next((i for i, line in enumerate(all_lines) if line.startswith(SUMMARY_BANNER)), None)
    if banner is None or banner >= len(all_lines) - tail_lines:
        return ""
    return "\n".join([line for line in all_lines[:banner] if line.strip()][:lines])


def _time(ms: int | None) -> str:
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(ms: int | None) -> str:
    if ms is None:
        return ""
    seconds = ms / 1000
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def render_page(rows: list[RunRow], *, title: str = "DataHub GMS stand-in") -> str:
    """The whole page; `rows` are expected newest first."""
    body_rows = "\n".join(_row(row) for row in rows) or (
        '<tr><td colspan="5" class="empty">No execution requests yet.</td></tr>'
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>{escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2328; background: #ffffff; }}
h1 {{ font-size: 1.3rem; }}
table {{ border-collapse: collapse; width: 100%; table-layout: fixed; }}
col.urn {{ width: 22%; }} col.status {{ width: 8rem; }} col.started {{ width: 12rem; }} col.duration {{ width: 6rem; }}
th, td {{ border: 1px solid #d0d7de; padding: 0.4rem 0.6rem; text-align: left; vertical-align: top; }}
th {{ background: #f6f8fa; }}
.status {{ font-weight: bold; color: #ffffff; padding: 0.1rem 0.4rem; border-radius: 4px; }}
pre.head {{ background: #fff8c5; margin-bottom: 0.3rem; }}
pre {{ margin: 0; max-height: 26rem; overflow: auto; font-size: 0.8rem; background: #f6f8fa; padding: 0.3rem; }}
pre {{ white-space: pre-wrap; overflow-wrap: anywhere; }}
.urn {{ font-family: monospace; font-size: 0.85rem; overflow-wrap: anywhere; }}
.empty {{ color: #57606a; font-style: italic; }}
</style>
</head>
<body>
<h1>{escape(title)}: execution requests ({len(rows)})</h1>
<table>
<colgroup><col class="urn"><col class="status"><col class="started"><col class="duration"><col></colgroup>
<thead><tr><th>Execution request</th><th>Status</th><th>Started</th><th>Duration</th><th>Report (head and last \
{REPORT_TAIL_LINES} lines)</th></tr></thead>
<tbody>
{body_rows}
</tbody>
</table>
</body>
</html>
"""


def _row(row: RunRow) -> str:
    colour = _STATUS_COLOURS.get(row.status, "#57606a")
    source = f"<br><small>{escape(row.source)}</small>" if row.source else ""
    return (
        f'<tr><td class="urn">{escape(row.urn)}{source}</td>'
        f'<td><span class="status" style="background:{colour}">{escape(row.status)}</span></td>'
        f"<td>{escape(_time(row.start_time_ms))}</td>"
        f"<td>{escape(_duration(row.duration_ms))}</td>"
        f"<td>{_report_cell(row.report)}</td></tr>"
    )


def _report_cell(report: str) -> str:
    if not report.strip():
        return ""
    head = report_head(report)
    head_block = f'<pre class="head">{escape(head)}</pre>' if head else ""
    return f"{head_block}<pre>{escape(report_tail(report))}</pre>"
