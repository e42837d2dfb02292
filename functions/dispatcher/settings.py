"""The dispatcher's environment, as one typed model validated at cold start.

A misconfigured deployment (bad default CPU/memory pair, missing cluster) fails on the
first import-time validation, not on the tenth message.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Literal

from executor_common.env_settings import EnvSettings
from executor_common.fargate_sizes import ephemeral_storage_problem, size_problem
from executor_common.gms_url import checked_gms_url
from executor_common.recipe import ENV_VAR_NAME
from executor_common.runspec import DEFAULT_RUN_TIMEOUT_SECONDS
from pydantic import Field, field_validator, model_validator


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _split_pairs(value: Any, what: str) -> Any:
    """`A=x,B=y` -> {"A": "x", "B": "y"}; a name must be an environment-variable identifier."""
    if not isinstance(value, str):
        return value
    pairs: dict[str, str] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        name, sep, rest = item.partition("=")
        name = name.strip()
        if not sep or not ENV_VAR_NAME.match(name):
            raise ValueError(f"{what} must be comma-separated NAME=value pairs; {name or item.strip()!r} is not")
        pairs[name] = rest.strip()
    return pairs


#: A complete Secrets Manager secret ARN: `...:secret:<name>-<6 characters>`, nothing after it.
SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}")
_SECRET_ARN_HEAD = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:")


def secret_arn_problem(value: str) -> str | None:
    """Why `value` is not the complete ARN of a secret, or None.

    ECS fetches a task secret by its bare ARN, so the runner's execution role (scoped to these ARNs)
    only matches complete ones: a `:json-key:version-stage:version-id` suffix or a partial ARN
    (no 6-character suffix) would be refused at task start with ResourceInitializationError.
    """
    if SECRET_ARN.fullmatch(value):
        return None
    head = _SECRET_ARN_HEAD.match(value)
    if head is None:
        return "is not a Secrets Manager secret ARN (arn:<partition>:secretsmanager:<region>:<account>:secret:<name>)"
    if ":" in value[head.end() :]:
        return (
            "has a JSON-key or version suffix after the secret's name; give the secret's bare ARN "
            "(the recipe gets the whole secret value)"
        )
    return (
        "is a partial ARN: the complete ARN ends with '-' and the six characters Secrets Manager "
        "appended to the name (copy it from the secret's page)"
    )


CommaList = list[str]
PairMap = dict[str, str]


class DispatcherSettings(EnvSettings):
    """Read from the Lambda environment that template.yaml sets (names are the upper-cased fields)."""

    datahub_gms_url: str
    datahub_gms_token_secret_arn: str | None = None
    executor_id: str = "remote"

    ecs_cluster: str
    task_definition_arn: str
    #: The small runner image's base task definition (SmallRunnerImage); empty = every run uses TASK_DEFINITION_ARN.
    small_task_definition_arn: str = ""
    #: The plugins that image bakes: a run needing only these launches on it (dispatcher/images.py).
    small_image_plugins: CommaList = Field(default_factory=list)
    subnet_ids: CommaList
    security_group_ids: CommaList
    assign_public_ip: Literal["ENABLED", "DISABLED"] = "DISABLED"
    capacity_provider: Literal["FARGATE", "FARGATE_SPOT", "FARGATE_SPOT_WITH_FALLBACK"] = "FARGATE"

    default_task_cpu: str = "1024"
    default_task_memory: str = "4096"
    default_ephemeral_storage_gib: int = 21
    default_run_timeout_seconds: int = Field(default=DEFAULT_RUN_TIMEOUT_SECONDS, gt=0)

    secret_name_prefix: str = ""
    secret_arns: PairMap = Field(default_factory=dict)
    #: DATAHUB_SECRET_STORE_ENABLED: names not in Secrets Manager go to the runner for DataHub's secret store.
    datahub_secret_store_enabled: bool = True
    run_env_vars: PairMap = Field(default_factory=dict)

    run_bucket: str
    log_group_name: str
    log_stream_prefix: str = "runs"
    aws_region: str = "us-east-1"

    # Retries that end (dispatcher/retries.py): MAX_RECEIVE_COUNT is the command queue's redrive maxReceiveCount.
    max_receive_count: int = Field(default=5, ge=1)
    retry_base_seconds: int = Field(default=60, ge=1)
    retry_max_seconds: int = Field(default=900, ge=1, le=43200)
    # Admission control (dispatcher/admission.py, waiting.py): 0 = no limit of the stack's own.
    max_concurrent_runs: int = Field(default=0, ge=0)
    #: "quota" (template.yaml's default): the account's Fargate vCPU quota, read with GetServiceQuota
    #: (dispatcher/vcpu_limit.py); a number: that limit; 0: none of the stack's own.
    max_concurrent_vcpus: Literal["quota"] | float = Field(default=0)
    vcpu_quota_ttl_seconds: int = Field(default=3600, ge=60)
    wait_check_seconds: int = Field(default=60, ge=1, le=750)  # +20 % jitter stays within SQS's 900 s delay
    max_wait_seconds: int = Field(default=86400, ge=60)
    # Overlapping runs of one source (dispatcher/overlap.py); a source's EXECUTOR_OVERLAP_POLICY wins.
    overlap_policy: Literal["allow", "skip", "queue", "replace"] = "allow"
    # Rate (executor_common/token_bucket.py): RunTask calls per second for the whole stack, shared by the
    # event source's containers (DISPATCHER_MAX_CONCURRENCY is its MaximumConcurrency).
    run_task_rate: float = Field(default=20, gt=0)
    dispatcher_max_concurrency: int = Field(default=5, ge=1)

    @field_validator("subnet_ids", "security_group_ids", "small_image_plugins", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("secret_arns", mode="before")
    @classmethod
    def _secret_pairs(cls, value: Any) -> Any:
        return _split_pairs(value, "SECRET_ARNS")

    @field_validator("secret_arns")
    @classmethod
    def _secret_arns_are_complete(cls, value: dict[str, str]) -> dict[str, str]:
        problems = [f"{name}: the ARN {problem}" for name, arn in value.items() if (problem := secret_arn_problem(arn))]
        if problems:
            raise ValueError("SECRET_ARNS entries must be complete secret ARNs; " + "; ".join(problems))
        return value

    @field_validator("datahub_gms_token_secret_arn")
    @classmethod
    def _token_arn_is_complete(cls, value: str | None) -> str | None:
        problem = secret_arn_problem(value) if value else None
        if problem:
            raise ValueError(f"DATAHUB_GMS_TOKEN_SECRET_ARN {problem}")
        return value or None

    @field_validator("run_env_vars", mode="before")
    @classmethod
    def _env_pairs(cls, value: Any) -> Any:
        return _split_pairs(value, "RUN_ENV_VARS")

    @field_validator("datahub_gms_url")
    @classmethod
    def _gms_url(cls, value: str) -> str:
        return checked_gms_url(value)

    @field_validator("subnet_ids", "security_group_ids")
    @classmethod
    def _not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one id is required (awsvpc networking)")
        return value

    @field_validator("max_concurrent_vcpus")
    @classmethod
    def _vcpus_not_negative(cls, value: str | float) -> str | float:
        if isinstance(value, float) and value < 0:
            raise ValueError("MAX_CONCURRENT_VCPUS must be 'quota', 0 (no limit) or a positive number of vCPUs")
        return value

    @property
    def vcpu_limit_set(self) -> bool:
        """A vCPU limit may apply: a number above 0, or the account's quota (if it can be read)."""
        return self.max_concurrent_vcpus == "quota" or float(self.max_concurrent_vcpus) > 0

    @model_validator(mode="after")
    def _small_image_bakes_something(self) -> DispatcherSettings:
        if self.small_task_definition_arn and not self.small_image_plugins:
            raise ValueError("SMALL_IMAGE_PLUGINS is empty: no run could use SMALL_TASK_DEFINITION_ARN's image")
        return self

    @model_validator(mode="after")
    def _defaults_are_valid_fargate_sizes(self) -> DispatcherSettings:
        problem = size_problem(self.default_task_cpu, self.default_task_memory)
        problem = problem or ephemeral_storage_problem(self.default_ephemeral_storage_gib)
        if problem:
            raise ValueError(f"the default task size is not valid on Fargate: {problem}")
        return self


@functools.cache
def get_settings() -> DispatcherSettings:
    """The settings of this container, read and validated once (tests call `get_settings.cache_clear()`)."""
    return DispatcherSettings()  # type: ignore[call-arg]  # EnvSettings fills the fields from os.environ
