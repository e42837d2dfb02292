"""The `dataHubExecutionRequestResult` aspect and the size bounds on what we send.

Mirrors DataHub's `ExecutionRequestResultClass` field for field (a test checks the
payload against DataHub's own schema class); kept as pydantic here so the Lambda
package does not need acryl-datahub.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from executor_common.status import ExecutionStatus

#: GMS and its Kafka topics refuse very large aspects (GMS's producer allows 5 MiB per message by
#: default); report + structured report stay near 1 MB, far below that, and the full log is linked.
MAX_REPORT_CHARS = 500_000
MAX_STRUCTURED_REPORT_CHARS = 400_000
#: Lists under these keys hold what a user reads first (DataHub's StructuredLogs); they keep more items.
PRIORITY_KEYS = frozenset({"failures", "warnings", "infos"})
#: (items kept per list, characters kept per string), tried in turn until the report fits.
TRIM_STEPS = ((200, 4000), (50, 1000), (20, 300), (5, 120), (1, 60))
TRUNCATION_NOTE = "[... earlier output truncated; the full log is in CloudWatch ...]\n"


class StructuredExecutionReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    serializedValue: str
    contentType: str = "application/json"


class ExecutionRequestResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ExecutionStatus
    report: str | None = None
    structuredReport: StructuredExecutionReport | None = None
    startTimeMs: int | None = None
    durationMs: int | None = None

    def bounded(
        self, max_report_chars: int = MAX_REPORT_CHARS, max_structured_chars: int = MAX_STRUCTURED_REPORT_CHARS
    ) -> ExecutionRequestResult:
        """A copy whose report keeps its tail and whose oversized structured report is trimmed field by field.

        Only a structured report that is not JSON, or still too large with every list and string cut
        to a minimum, is dropped (with a note).
        """
        report = tail_text(self.report, max_report_chars) if self.report is not None else None
        structured = self.structuredReport
        if structured is not None and len(structured.serializedValue) > max_structured_chars:
            trimmed = trim_structured_report(structured.serializedValue, max_structured_chars)
            if trimmed is not None:
                structured = structured.model_copy(update={"serializedValue": trimmed})
            else:
                note = (
                    f"[structured report of {len(structured.serializedValue)} characters dropped: "
                    f"larger than {max_structured_chars}; see the run's log]\n"
                )
                report = note + (report or "")
                structured = None
        return self.model_copy(update={"report": report, "structuredReport": structured})

    def to_aspect_dict(self) -> dict[str, Any]:
        """The aspect as DataHub serializes it (None fields omitted, status as a plain string)."""
        return self.model_dump(mode="json", exclude_none=True)

    def to_aspect_json(self) -> str:
        return json.dumps(self.to_aspect_dict(), separators=(",", ":"))


def note_lines(notes: list[str]) -> str:
    """What the dispatcher noted about a run (a Spot re-run, settings for other executors ignored), one
    `Note:` line each: written by the dispatcher's RUNNING report and repeated by every report of the
    runner, since each write replaces the report the UI shows."""
    return "".join(f"Note: {note}\n" for note in notes)


def tail_text(text: str, max_chars: int) -> str:
    """Keep the end of `text` (the part a user needs), marking the cut."""
    if len(text) <= max_chars:
        return text
    keep = max_chars - len(TRUNCATION_NOTE)
    tail = text[-keep:]
    newline = tail.find("\n")
    if 0 <= newline < 200:
        tail = tail[newline + 1 :]
    return TRUNCATION_NOTE + tail


def trim_structured_report(serialized: str, max_chars: int) -> str | None:
    """The report with long lists and strings cut (numbers, flags and keys all kept); None if it cannot fit.

    Summaries and counts are numbers and short strings, so they survive; `failures`, `warnings` and
    `infos` keep four times as many entries as other lists; a cut list ends with a string saying how
    many entries were left out.
    """
    try:
        document = json.loads(serialized)
    except ValueError:
        return None
    for items, chars in TRIM_STEPS:
        text = json.dumps(_trim(document, items, chars, priority=False), separators=(",", ":"))
        if len(text) <= max_chars:
            return text
    return None


def _trim(value: Any, items: int, chars: int, *, priority: bool) -> Any:
    if isinstance(value, dict):
        return {k: _trim(v, items, chars, priority=k in PRIORITY_KEYS) for k, v in value.items()}
    if isinstance(value, list):
        keep = items * 4 if priority else items
        kept = [_trim(v, items, chars, priority=False) for v in value[:keep]]
        if len(value) > keep:
            kept.append(
                f"... {len(value) - keep} more entries cut to fit DataHub; the full report is in the run folder"
            )
        return kept
    if isinstance(value, str) and len(value) > chars:
        return value[:chars] + f"... [{len(value) - chars} characters cut]"
    return value
