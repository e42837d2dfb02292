"""The reconciler's environment, as one typed model validated at cold start (template.yaml sets it).

The backstop has its own model (`backstop.settings`): it needs neither GMS nor the log group.
"""

from __future__ import annotations

import functools

from executor_common.cost import DEFAULT_PRICES, DEFAULT_SPOT_FACTOR, PriceTable
from executor_common.env_settings import EnvSettings
from executor_common.gms_url import checked_gms_url
from executor_common.log_streams import runner_log_stream
from pydantic import Field, field_validator

#: How long to wait before concluding that a runner which exited 0 never reported.
DEFAULT_REPORT_GRACE_SECONDS = 10
#: SQS's largest DelaySeconds: the grace is a delivery delay on the reconciler's queue, not a sleep.
MAX_REPORT_GRACE_SECONDS = 900
LOG_TAIL_LINES = 50


class ReconcilerSettings(EnvSettings):
    """Read from the Lambda environment (names are the upper-cased fields)."""

    ecs_cluster: str
    datahub_gms_url: str
    datahub_gms_token_secret_arn: str | None = None
    log_group_name: str | None = None
    log_stream_prefix: str = "runs"
    log_tail_lines: int = Field(default=LOG_TAIL_LINES, ge=0, le=10_000)
    report_grace_seconds: int = Field(default=DEFAULT_REPORT_GRACE_SECONDS, ge=0, le=MAX_REPORT_GRACE_SECONDS)
    #: The reconciler's own SQS buffer: an event that must wait the report grace is sent back to it with
    #: DelaySeconds. Unset (a direct invocation, `sam local invoke`): no grace, the event is handled at once.
    reconciler_queue_url: str | None = None
    #: The dispatcher's command queue: an interrupted FARGATE_SPOT_WITH_FALLBACK run is sent back to it.
    command_queue_url: str | None = None
    aws_region: str = "us-east-1"
    powertools_metrics_namespace: str = "DataHubRemoteExecutor"
    #: The per-run cost metric's price table (template parameters FargatePrices, SpotPriceFactor).
    fargate_prices: str = DEFAULT_PRICES
    spot_price_factor: float = Field(default=DEFAULT_SPOT_FACTOR, ge=0, le=1)
    #: The run bucket, whose `slots/` and `sources/` leases the reconciler frees when a run's task stopped; unset: none.
    run_bucket: str | None = None
    #: Run-state events (executor_common.run_event) go to this EventBridge bus; unset: none are put.
    event_bus_name: str | None = None

    @field_validator("fargate_prices")
    @classmethod
    def _valid_prices(cls, value: str) -> str:
        PriceTable.parse(value)
        return value

    @property
    def prices(self) -> PriceTable:
        return PriceTable.parse(self.fargate_prices, self.spot_price_factor)

    @field_validator("datahub_gms_url")
    @classmethod
    def _valid_gms_url(cls, value: str) -> str:
        return checked_gms_url(value)

    @property
    def cluster_name(self) -> str:
        """`arn:aws:ecs:<region>:<account>:cluster/<name>` or `<name>` -> `<name>`."""
        return self.ecs_cluster.rsplit("/", 1)[-1]

    def log_stream_for(self, task_id: str) -> str:
        """The awslogs stream of the runner container of one task."""
        return runner_log_stream(self.log_stream_prefix, task_id)


@functools.cache
def get_settings() -> ReconcilerSettings:
    """The settings of this container, read and validated once (tests call `get_settings.cache_clear()`)."""
    return ReconcilerSettings()  # type: ignore[call-arg]  # EnvSettings fills the fields from os.environ
