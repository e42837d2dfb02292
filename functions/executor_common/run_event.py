"""The "Ingestion Run State Change" event: one terminal status, as users route it (EventBridge rules).

One builder for both writers of a terminal status (the runner and the reconciler), so the detail
has one shape. It carries what a notification needs and nothing a recipe holds: the run and source
URNs, the status, the duration, the cost estimate and a one-line diagnosis (already masked by the
writer, and bounded here). Never a recipe, an env var, a log line or a secret.
"""

from __future__ import annotations

from typing import Any

EVENT_SOURCE = "datahub.executor"
DETAIL_TYPE = "Ingestion Run State Change"
#: A diagnosis is a headline, not a report: long text belongs in DataHub.
MAX_DIAGNOSIS_CHARS = 1_000


def run_state_detail(
    *,
    urn: str,
    status: str,
    executor_id: str | None,
    source_urn: str | None = None,
    duration_ms: int | None = None,
    cost_usd: float | None = None,
    diagnosis: str | None = None,
    task_arn: str | None = None,
    reported_by: str,
) -> dict[str, Any]:
    """The event's `detail`; `reported_by` is `runner` or `reconciler`."""
    if diagnosis and len(diagnosis) > MAX_DIAGNOSIS_CHARS:
        diagnosis = diagnosis[: MAX_DIAGNOSIS_CHARS - 5] + " [...]"
    detail = {
        "executionRequestUrn": urn,
        "ingestionSourceUrn": source_urn,
        "status": status,
        "executorId": executor_id,
        "durationMs": duration_ms,
        "estimatedCostUsd": cost_usd,
        "diagnosis": diagnosis,
        "taskArn": task_arn,
        "reportedBy": reported_by,
    }
    return {key: value for key, value in detail.items() if value is not None}
