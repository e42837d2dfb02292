"""The report text DataHub's UI shows, in the layout of DataHub's own executor.

`datahub.executor.result.execution_result.ExecutionResult.get_summary()` writes:
`~~~~ Execution Summary - <task> ~~~~`, the outcome sentence, the execution report
(`{'exec_id': ..., 'infos': [...], 'errors': [...]}`), `~~~~ Ingestion Report ~~~~`
(the structured report, pretty-printed), `~~~~ Ingestion Logs ~~~~` (the log tail).
We add one headline line first when the run ended for a reason a user must act on
(out of memory, timeout, missing secret...), then links to the full log (CloudWatch, the run
folder in S3), and we bound every section so the result fits in GMS without `bounded()`
cutting the headline off.
"""

from __future__ import annotations

import json
import pprint
from dataclasses import dataclass, field
from datetime import UTC, datetime

from executor_common.results import MAX_REPORT_CHARS
from executor_common.status import ExecutionStatus

STALE_WARNING = (
    "WARNING: These logs appear to be stale. No new logs have been received since {since} "
    "(more than {seconds:.0f} seconds). However, the ingestion process still appears to be running "
    "and may complete normally."
)
#: The line that opens DataHub's summary; what the runner writes above it is its headline, links and notes.
SUMMARY_BANNER = "~~~~ Execution Summary"
MAX_SUMMARY_CHARS = 8_000
MAX_INGESTION_REPORT_CHARS = 24_000
REPORT_CUT_NOTE = "\n[... ingestion report cut here; the full one is in the structured report and the run folder ...]"
OUTCOME_SENTENCES = {
    ExecutionStatus.SUCCESS: "Execution finished successfully!",
    ExecutionStatus.FAILURE: "Execution finished with errors.",
    ExecutionStatus.CANCELLED: "Execution was cancelled by request.",
}


def stamp(message: str, level: str) -> str:
    """`<utc time> LEVEL: message`, as DataHub's ExecutionReport formats its lines."""
    return f"{datetime.now(UTC).replace(tzinfo=None)} {level}: {message}"


@dataclass
class RunOutcome:
    """What happened, before it is rendered for DataHub."""

    status: ExecutionStatus
    headline: str | None = None
    infos: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    structured_report: str | None = None
    #: Why the run was refused before the ingestion could start (a TEST_CONNECTION reports it as DataHub does).
    refusal: str | None = None

    def info(self, message: str) -> None:
        self.infos.append(stamp(message, "INFO"))

    def error(self, message: str) -> None:
        self.errors.append(stamp(message, "ERROR"))


def render_report(
    task: str,
    execution_id: str,
    outcome: RunOutcome,
    log_tail: str,
    links: list[str] | None = None,
    notes: list[str] | None = None,
) -> str:
    """The terminal report, at most MAX_REPORT_CHARS: headline, links to the full log, cost and usage notes,
    summary, log tail."""
    head = f"{outcome.headline}\n\n" if outcome.headline else ""
    if links:
        head += "\n".join(links) + "\n\n"
    if notes:
        head += "\n".join(notes) + "\n\n"
    summary = f"{SUMMARY_BANNER} - {task} ~~~~\n"
    summary += OUTCOME_SENTENCES.get(outcome.status, f"Execution finished with status {outcome.status}.") + "\n"
    summary += pprint.pformat(
        {"exec_id": execution_id, "infos": outcome.infos, "errors": outcome.errors}, width=150, sort_dicts=False
    )
    summary = _cut(head + summary, MAX_SUMMARY_CHARS, "\n[...]") + "\n\n"
    ingestion = ""
    if outcome.structured_report is not None:
        pretty = _cut(_pretty(outcome.structured_report), MAX_INGESTION_REPORT_CHARS, REPORT_CUT_NOTE)
        ingestion = "~~~~ Ingestion Report ~~~~\n" + pretty + "\n\n"
    logs_header = "~~~~ Ingestion Logs ~~~~\n"
    budget = MAX_REPORT_CHARS - len(summary) - len(ingestion) - len(logs_header) - 200
    logs = log_tail if len(log_tail) <= budget else "[earlier logs truncated...]\n" + log_tail[-budget:]
    return summary + ingestion + logs_header + logs + "\n"


def render_progress(log_tail: str, stale_since_wall: float | None, stale_seconds: float) -> str:
    """The RUNNING report: the tail, plus a stale-logs warning once output stopped for a while."""
    text = log_tail if log_tail else "No logs yet"
    if stale_since_wall is not None:
        since = datetime.fromtimestamp(stale_since_wall, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        text += "\n\n" + STALE_WARNING.format(since=since, seconds=stale_seconds)
    return text


def _pretty(serialized: str) -> str:
    try:
        return json.dumps(json.loads(serialized), indent=2)
    except ValueError:
        return serialized


def _cut(text: str, limit: int, note: str) -> str:
    return text if len(text) <= limit else text[: limit - len(note)] + note
