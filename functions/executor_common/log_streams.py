"""The runner's CloudWatch log stream: awslogs names it `<awslogs-stream-prefix>/<container name>/<task id>`.

The template sets the prefix (`awslogs-stream-prefix`, passed to the Lambdas as LOG_STREAM_PREFIX);
this is the one place the name is built from it.
"""

from __future__ import annotations

from executor_common.runspec import RUNNER_CONTAINER_NAME


def task_id_of(task_arn: str) -> str:
    """The last segment of a task ARN (`task/<cluster>/<id>` or the old `task/<id>` format)."""
    return task_arn.rsplit("/", 1)[-1]


def runner_log_stream(prefix: str, task_arn_or_id: str) -> str:
    """The awslogs stream of the runner container of one task."""
    return f"{prefix}/{RUNNER_CONTAINER_NAME}/{task_id_of(task_arn_or_id)}"
