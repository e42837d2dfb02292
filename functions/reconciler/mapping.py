"""Which DataHub run a stopped ECS task belongs to, from the event alone.

StopTask deletes a task's tags, so tags cannot be relied on. In order:
1. the runner container's override `EXECUTOR_EXECUTION_REQUEST_URN` (the dispatcher always sets it;
   overrides survive StopTask and appear in every task event);
2. `startedBy`, which the dispatcher sets to the execution request id, trusted only when the task
   otherwise looks like one of ours (group `ingestion:...` or a container with the runner's name),
   so that another workload on the cluster (`ecs-svc/...`) is never mistaken for a run;
3. the group `ingestion:<source id>` names the ingestion source, not the run: it proves the task
   is ours but cannot say which run, so such a task is reported as unmappable.
"""

from __future__ import annotations

from dataclasses import dataclass

from executor_common.contract import EXECUTION_REQUEST_URN_PREFIX, execution_id_from_urn
from executor_common.ecs_task import TaskDetail
from executor_common.runspec import ENV_EXECUTION_REQUEST_URN, RUNNER_CONTAINER_NAME, TASK_GROUP_PREFIX


@dataclass(frozen=True)
class RunMapping:
    """The run a task belongs to (`urn` None when it cannot be told) and how we know."""

    urn: str | None
    source: str
    ours: bool


def _valid_urn(value: str | None) -> str | None:
    if not value:
        return None
    try:
        execution_id_from_urn(value)
    except ValueError:
        return None
    return value


def map_task_to_run(detail: TaskDetail) -> RunMapping:
    urn = _valid_urn(detail.override_env(ENV_EXECUTION_REQUEST_URN))
    if urn:
        return RunMapping(urn=urn, source="overrides", ours=True)
    in_our_group = (detail.group or "").startswith(TASK_GROUP_PREFIX)
    looks_ours = in_our_group or detail.container(RUNNER_CONTAINER_NAME) is not None
    started_by = (detail.startedBy or "").strip()
    if looks_ours and started_by and "/" not in started_by:
        urn = _valid_urn(EXECUTION_REQUEST_URN_PREFIX + started_by)
        if urn:
            return RunMapping(urn=urn, source="startedBy", ours=True)
    if in_our_group:
        return RunMapping(urn=None, source="group", ours=True)
    return RunMapping(urn=None, source="none", ours=False)
