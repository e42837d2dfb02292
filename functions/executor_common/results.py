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

#: DataHub's UI only needs a tail; GMS and its Kafka topics refuse very large aspects.
MAX_REPORT_CHARS = 60_000
MAX_STRUCTURED_REPORT_CHARS = 400_000
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
        """A copy whose report keeps its tail and whose oversized structured report is dropped with a note."""
        report = tail_text(self.report, max_report_chars) if self.report is not None else None
        structured = self.structuredReport
        if structured is not None and len(structured.serializedValue) > max_structured_chars:
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
