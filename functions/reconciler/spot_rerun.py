"""A Spot-interrupted run that opted into FARGATE_SPOT_WITH_FALLBACK is re-run once on on-demand Fargate.

Instead of ABORTED, the reconciler writes PENDING ("re-running on on-demand: the Spot task was
interrupted") and sends the same execution request back to the command queue, read from DataHub's
`dataHubExecutionRequestInput`, with two per-run settings added to its extra env vars:
EXECUTOR_CAPACITY_PROVIDER=FARGATE (on-demand, so it cannot be interrupted again: once) and
EXECUTOR_RERUN_OF=<the interrupted task> (the dispatcher then uses a clientToken of its own). DataHub
keeps one execution request: the re-run reports into it.
"""

from __future__ import annotations

import json
from typing import Any

from executor_common.aws.sqs import SqsAdapter
from executor_common.ecs_task import TaskDetail
from executor_common.fair_queue import message_group_id
from executor_common.results import ExecutionRequestResult
from executor_common.runspec import ENV_CAPACITY_PROVIDER, ENV_RERUN_OF
from executor_common.status import ExecutionStatus

from reconciler.observability import logger

SPOT_INTERRUPTION = "SpotInterruption"
SPOT_WITH_FALLBACK = "FARGATE_SPOT_WITH_FALLBACK"
INPUT_ASPECT = "dataHubExecutionRequestInput"


def wants_rerun(detail: TaskDetail, diagnosis_reason: str) -> bool:
    """Interrupted on Spot, launched with the fallback, and not itself a re-run."""
    return (
        diagnosis_reason == SPOT_INTERRUPTION
        and detail.override_env(ENV_CAPACITY_PROVIDER) == SPOT_WITH_FALLBACK
        and not detail.override_env(ENV_RERUN_OF)
    )


def rerun_body(urn: str, request_input: dict[str, Any], interrupted_task_arn: str) -> str:
    """The run message the dispatcher receives for a new request, for the same request, on on-demand."""
    aspect = json.loads(json.dumps(request_input))
    args = aspect.setdefault("args", {})
    try:
        env = json.loads(args.get("extra_env_vars") or "{}")
    except ValueError:
        env = {}
    env = {
        **(env if isinstance(env, dict) else {}),
        ENV_CAPACITY_PROVIDER: "FARGATE",
        ENV_RERUN_OF: interrupted_task_arn,
    }
    args["extra_env_vars"] = json.dumps(env)
    return json.dumps({"entityUrn": urn, "aspectName": INPUT_ASPECT, "aspect": aspect})


def rerun_pending(detail: TaskDetail, start_ms: int | None) -> ExecutionRequestResult:
    report = (
        f"Re-running on on-demand Fargate: the Fargate Spot task {detail.taskArn} was interrupted "
        "(SpotInterruption: AWS took the Spot capacity back). This run's source uses "
        f"{SPOT_WITH_FALLBACK}, so it is run once more on on-demand capacity, as the same execution request.\n"
    )
    return ExecutionRequestResult(status=ExecutionStatus.PENDING, report=report, startTimeMs=start_ms)


def rerun_on_demand(
    urn: str, detail: TaskDetail, gms: Any, queue: SqsAdapter, queue_url: str, start_ms: int | None
) -> bool:
    """PENDING in DataHub, then the request back on the command queue; False when DataHub has no input to re-run."""
    request_input = gms.read_input(urn)
    if not request_input:
        logger.warning("No execution request input in DataHub; cannot re-run the interrupted Spot run")
        return False
    gms.write_result(urn, rerun_pending(detail, start_ms))
    body = rerun_body(urn, request_input, detail.taskArn)
    queue.send_delayed(queue_url, body, 0, {}, group_id=message_group_id(body))  # the source's fair-queue tenant
    logger.info("Spot run interrupted: re-run sent to the command queue on on-demand")
    return True
