"""The forwarder action's configuration: the `action.config` block of a datahub-actions pipeline file."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The stack output that names the command queue (template.yaml `Outputs`).
COMMAND_QUEUE_OUTPUT_KEY = "CommandQueueUrl"

#: SQS's maximum message size (1 MiB), which template.yaml sets explicitly on the command queue.
#: A queue you created yourself before 2025 may still have the old 256 KiB default: set 262144.
DEFAULT_MAX_MESSAGE_BYTES = 1_048_576


class RetrySettings(BaseModel):
    """How long one event may be retried before the action raises (and the event is not acknowledged).

    Kafka's consumer leaves the group when an action blocks longer than `max.poll.interval.ms`
    (10 s in datahub-actions' Kafka source), so the defaults stay well below that.
    """

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(default=5, ge=1, le=20)
    base_delay_seconds: float = Field(default=0.25, ge=0)
    max_delay_seconds: float = Field(default=2.0, ge=0)
    connect_timeout_seconds: float = Field(default=2.0, gt=0)
    read_timeout_seconds: float = Field(default=5.0, gt=0)


class ForwarderConfig(BaseModel):
    """Where to send, what to send, and with which AWS credentials (the usual boto3 chain unless a profile is named)."""

    model_config = ConfigDict(extra="forbid")

    queue_url: str | None = Field(default=None, description="The stack's CommandQueueUrl output.")
    stack_name: str | None = Field(default=None, description="Look the queue URL up from this stack's outputs.")
    executor_ids: list[str] = Field(default_factory=lambda: ["remote"], min_length=1)
    claim_test_connections_for: list[str] = Field(
        default_factory=list,
        description=(
            "Executor ids whose TEST_CONNECTION requests this stack runs, e.g. ['default']: open-source DataHub "
            "creates every UI test connection for executor 'default'. They are forwarded with executorId set to "
            "executor_ids[0]. Trade-off: every UI test connection, whatever source it is for, is then tested "
            "from this stack's network, and DataHub's bundled executor must not also answer them."
        ),
    )
    aws_region: str | None = None
    aws_profile: str | None = None
    aws_endpoint_url: str | None = Field(default=None, description="For moto or a VPC endpoint; normally unset.")
    message_attributes: bool = True
    max_message_bytes: int = Field(default=DEFAULT_MAX_MESSAGE_BYTES, ge=1024)
    retry: RetrySettings = Field(default_factory=RetrySettings)

    @model_validator(mode="after")
    def _one_queue_source(self) -> ForwarderConfig:
        if bool(self.queue_url) == bool(self.stack_name):
            raise ValueError("set exactly one of queue_url or stack_name")
        if any(not executor_id.strip() for executor_id in self.executor_ids + self.claim_test_connections_for):
            raise ValueError("executor_ids and claim_test_connections_for must not contain empty ids")
        return self

    @property
    def claim_as(self) -> str:
        """The executor id a claimed test connection is forwarded under: the stack's own."""
        return self.executor_ids[0]
