"""The reconciler's and the backstop's environment, as one typed model validated at cold start.

Both entry points read the same variables (template.yaml sets them on both functions); the
backstop only needs the cluster and the timeouts, the reconciler also GMS and the log group.
"""

from __future__ import annotations

import functools

from executor_common.gms_factory import checked_gms_url
from executor_common.runspec import DEFAULT_RUN_TIMEOUT_SECONDS, RUNNER_CONTAINER_NAME
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: How long past its run timeout a task may keep running before the backstop stops it:
#: the runner's own timeout is the primary guard and must get the chance to report first.
DEFAULT_BACKSTOP_GRACE_SECONDS = 15 * 60
#: How long to wait before concluding that a runner which exited 0 never reported.
DEFAULT_REPORT_GRACE_SECONDS = 10.0
LOG_TAIL_LINES = 50


class ReconcilerSettings(BaseSettings):
    """Read from the Lambda environment (names are the upper-cased fields)."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    ecs_cluster: str
    executor_id: str = "remote"
    runner_container_name: str = RUNNER_CONTAINER_NAME
    default_run_timeout_seconds: int = Field(default=DEFAULT_RUN_TIMEOUT_SECONDS, gt=0)
    backstop_grace_seconds: int = Field(default=DEFAULT_BACKSTOP_GRACE_SECONDS, ge=0)
    aws_region: str = "us-east-1"
    powertools_metrics_namespace: str = "DataHubRemoteExecutor"

    # The reconciler only (the backstop never talks to GMS or CloudWatch Logs).
    datahub_gms_url: str | None = None
    datahub_gms_token_secret_arn: str | None = None
    log_group_name: str | None = None
    log_stream_prefix: str = "runs"
    log_tail_lines: int = Field(default=LOG_TAIL_LINES, ge=0, le=10_000)
    report_grace_seconds: float = Field(default=DEFAULT_REPORT_GRACE_SECONDS, ge=0)

    @field_validator("datahub_gms_url")
    @classmethod
    def _valid_gms_url(cls, value: str | None) -> str | None:
        return None if value is None else checked_gms_url(value)

    @property
    def cluster_name(self) -> str:
        """`arn:aws:ecs:<region>:<account>:cluster/<name>` or `<name>` -> `<name>`."""
        return self.ecs_cluster.rsplit("/", 1)[-1]

    def log_stream_for(self, task_id: str) -> str:
        """The awslogs stream of the runner container of one task: `prefix/container/task-id`."""
        return f"{self.log_stream_prefix}/{self.runner_container_name}/{task_id}"

    def require_reconciler_settings(self) -> None:
        """The reconciler entry point cannot work without GMS: fail at cold start, not per event."""
        if not self.datahub_gms_url:
            raise ValueError("DATAHUB_GMS_URL is required by the reconciler")


@functools.cache
def get_settings() -> ReconcilerSettings:
    """The settings of this container, read and validated once (tests call `get_settings.cache_clear()`)."""
    return ReconcilerSettings()  # type: ignore[call-arg]
