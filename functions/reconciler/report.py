"""The report text DataHub shows for a reconciled run: diagnosis, raw facts, the log's last lines."""

from __future__ import annotations

from collections.abc import Sequence

from executor_common.results import ExecutionRequestResult, tail_text

from reconciler.diagnosis import Diagnosis
from reconciler.ordering import marker

#: One runaway log line must not push the diagnosis out of the bounded report.
MAX_LOG_LINE_CHARS = 1_000
#: The part of a replaced runner report that is kept (its end: the ingestion's last words).
MAX_SUPERSEDED_REPORT_CHARS = 20_000


def build_report(
    diagnosis: Diagnosis,
    *,
    task_id: str,
    version: int,
    log_location: str | None,
    log_lines: Sequence[str] | None,
    log_problem: str | None = None,
    superseded: ExecutionRequestResult | None = None,
) -> str:
    """Plain text, most important first; ends with the ordering marker (see `ordering`).

    `superseded`: the CANCELLED the runner wrote on SIGTERM, which this diagnosis replaces; its
    report is kept below ours, because it holds what the ingestion did before it was stopped.
    """
    parts = [
        f"{diagnosis.headline}.",
        "",
        f"What happened: {diagnosis.explanation}",
        f"How to fix it: {diagnosis.fix}",
        "",
        "Facts from ECS:",
        *(f"  {fact}" for fact in diagnosis.details),
        "",
    ]
    if log_location is None:
        parts.append("No log location is configured, so no log lines are included.")
    elif log_problem:
        parts.append(f"The run's log ({log_location}) could not be read: {log_problem}")
    elif not log_lines:
        parts.append(f"The run's log ({log_location}) has no lines: the container never started or wrote nothing.")
    else:
        parts.append(f"Last {len(log_lines)} lines of the run's log ({log_location}):")
        parts.extend(_clip(line) for line in log_lines)
    if superseded is not None:
        parts += [
            "",
            f"The runner had reported {superseded.status} when ECS asked the task to stop (SIGTERM); it cannot tell "
            f"a cancel from this kind of stop, ECS can, so DataHub shows {diagnosis.status}. The runner's report:",
            tail_text(superseded.report or "(empty)", MAX_SUPERSEDED_REPORT_CHARS),
        ]
    parts += ["", marker(task_id, version)]
    return "\n".join(parts)


def _clip(line: str) -> str:
    line = line.rstrip("\n")
    return line if len(line) <= MAX_LOG_LINE_CHARS else line[:MAX_LOG_LINE_CHARS] + " [...]"
