"""What ECS tells a task about itself: its ARN and limits, from the task metadata endpoint v4."""

from __future__ import annotations

import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskMetadata:
    task_arn: str | None = None
    cpu: float | None = None
    memory_mib: int | None = None


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
    return TaskMetadata(
        task_arn=body.get("TaskARN"),
        cpu=float(cpu) if isinstance(cpu, int | float) else None,
        memory_mib=int(memory) if isinstance(memory, int | float) else None,
    )
