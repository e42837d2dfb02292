"""A run's task ends the way it ends on AWS: ECS stops it, and its STOPPED event reaches the reconciler's handler
(which frees the run slot the task held, MaxConcurrentRuns). The reconciler reads the dispatcher's environment
(the same cluster, DataHub stand-in and run bucket)."""

from __future__ import annotations

from typing import Any

from dispatcher_helpers import CLUSTER, REGION

from local_stack.event_shapes import task_state_change_event
from tests.support.aws_harness import ACCOUNT_ID, lambda_context


def stop_and_reconcile(ecs: Any, task_arn: str, reason: str = "Essential container in task exited") -> dict[str, Any]:
    """Stop the task in ECS and hand its STOPPED event to the reconciler's Lambda handler; its answer."""
    from reconciler import handler
    from reconciler.settings import get_settings

    ecs.stop_task(cluster=CLUSTER, task=task_arn, reason=reason)
    (task,) = ecs.describe_tasks(cluster=CLUSTER, tasks=[task_arn])["tasks"]
    task["lastStatus"] = "STOPPED"
    event = task_state_change_event(task, account=ACCOUNT_ID, region=REGION, version=3)
    get_settings.cache_clear()
    handler.get_ports.cache_clear()
    try:
        return handler.lambda_handler(event, lambda_context("ReconcilerFunction", REGION))
    finally:
        get_settings.cache_clear()
        handler.get_ports.cache_clear()
