"""What ECS tells a task about itself: its ARN, limits and log stream, from the task metadata endpoint v4.

The v4 `/task` response carries no stop code or stop reason (only `DesiredStatus` and `KnownStatus`,
see the "Amazon ECS task metadata V4 JSON response" reference), so after a SIGTERM the runner cannot
tell a cancel from a Spot reclaim or the backstop's stop; the reconciler, which sees the task's
`stopCode` and `stoppedReason`, has the final word (see run.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import quote

from executor_common.runspec import RUNNER_CONTAINER_NAME

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskMetadata:
    task_arn: str | None = None
    cpu: float | None = None
    memory_mib: int | None = None
    log_region: str | None = None
    log_group: str | None = None
    log_stream: str | None = None
    #: Fargate's `EphemeralStorageMetrics.Reserved` (MiB): the task's ephemeral storage, for the cost estimate.
    ephemeral_reserved_mib: int | None = None

    def log_console_url(self) -> str | None:
        """The runner's CloudWatch log stream in the console (awslogs driver only)."""
        if not (self.log_region and self.log_group and self.log_stream):
            return None
        region = self.log_region
        return (
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/"
            f"{_console_encode(self.log_group)}/log-events/{_console_encode(self.log_stream)}"
        )


def _console_encode(value: str) -> str:
    """The CloudWatch console's fragment encoding: URL-encode twice, then `%` -> `$` (`/` -> `$252F`)."""
    return quote(quote(value, safe=""), safe="").replace("%", "$")


def fetch_task_metadata(metadata_uri: str | None, timeout: float = 2.0) -> TaskMetadata:
    """`GET ${ECS_CONTAINER_METADATA_URI_V4}/task`; an empty TaskMetadata outside ECS or on any error."""
    if not metadata_uri:
        return TaskMetadata()
    import requests  # only inside ECS: keeps the runner's start-up short elsewhere

    try:
        response = requests.get(f"{metadata_uri.rstrip('/')}/task", timeout=timeout)
        response.raise_for_status()
        body = response.json()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("Could not read the ECS task metadata: %s", type(exc).__name__)
        return TaskMetadata()
    limits = body.get("Limits") or {}
    memory = limits.get("Memory")
    cpu = limits.get("CPU")
    containers = [c for c in body.get("Containers") or [] if isinstance(c, dict)]
    ours = next((c for c in containers if c.get("Name") == RUNNER_CONTAINER_NAME), {})
    log = ours.get("LogOptions") if ours.get("LogDriver", "awslogs") == "awslogs" else None
    log = log if isinstance(log, dict) else {}
    storage = body.get("EphemeralStorageMetrics") or {}
    reserved = storage.get("Reserved") if isinstance(storage, dict) else None
    return TaskMetadata(
        ephemeral_reserved_mib=int(reserved) if isinstance(reserved, int | float) else None,
        task_arn=body.get("TaskARN"),
        cpu=float(cpu) if isinstance(cpu, int | float) else None,
        memory_mib=int(memory) if isinstance(memory, int | float) else None,
        log_region=log.get("awslogs-region"),
        log_group=log.get("awslogs-group"),
        log_stream=log.get("awslogs-stream"),
    )
