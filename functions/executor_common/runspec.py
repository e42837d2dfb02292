"""The run spec: what the dispatcher hands the runner for one run, and how it travels.

The spec never contains secret values, only the names of the secrets that the task
definition injects as environment variables. The child's extra env vars (the stack's and the
request's) travel in it too, apart from the runner's own settings, so a request cannot set those.
`launched_at_ms` is the dispatcher's launch time, the `startTimeMs` of its RUNNING write.
The spec travels inline in an environment variable when the overrides fit ECS's
8192-character limit, else as an object in the run bucket whose `s3://` URI is passed instead.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from executor_common.contract import ExecutionTask

#: Environment variable names shared by the dispatcher (writer) and the runner (reader).
ENV_RUN_SPEC = "EXECUTOR_RUN_SPEC"
ENV_RUN_SPEC_URI = "EXECUTOR_RUN_SPEC_URI"
#: Per-source settings a DataHub admin sets in the ingestion source's "extra env vars".
ENV_TASK_CPU = "EXECUTOR_TASK_CPU"
ENV_TASK_MEMORY = "EXECUTOR_TASK_MEMORY"
ENV_TASK_EPHEMERAL_STORAGE = "EXECUTOR_TASK_EPHEMERAL_STORAGE_GIB"
ENV_RUN_TIMEOUT = "EXECUTOR_RUN_TIMEOUT_SECONDS"
#: What a run does when another run of its source is still going: allow, skip, queue, replace.
ENV_OVERLAP_POLICY = "EXECUTOR_OVERLAP_POLICY"
#: FARGATE, FARGATE_SPOT or FARGATE_SPOT_WITH_FALLBACK for this source (the stack's CapacityProvider otherwise).
ENV_CAPACITY_PROVIDER = "EXECUTOR_CAPACITY_PROVIDER"
#: Set by the reconciler on the on-demand re-run of a Spot-interrupted run: the interrupted task's ARN.
ENV_RERUN_OF = "EXECUTOR_RERUN_OF"
EXECUTOR_SETTING_NAMES = frozenset(
    {
        ENV_TASK_CPU,
        ENV_TASK_MEMORY,
        ENV_TASK_EPHEMERAL_STORAGE,
        ENV_RUN_TIMEOUT,
        ENV_OVERLAP_POLICY,
        ENV_CAPACITY_PROVIDER,
        ENV_RERUN_OF,
    }
)

DEFAULT_RUN_TIMEOUT_SECONDS = 24 * 3600


class RunSpec(BaseModel):
    model_config = ConfigDict(extra="ignore")

    execution_request_urn: str
    execution_id: str
    task: ExecutionTask
    recipe: str = Field(description="The recipe JSON exactly as DataHub sent it, `${NAME}` references unresolved.")
    secret_names: list[str] = Field(default_factory=list)
    #: `${NAME}`s not in Secrets Manager, for the runner to read from DataHub's secret store (datahub_secrets.py).
    datahub_secret_names: list[str] = Field(default_factory=list)
    #: Where the dispatcher looked in Secrets Manager (`<prefix>NAME`), so a FAILURE can say so.
    secret_name_prefix: str | None = None
    version: str | None = None
    debug_mode: bool = False
    extra_pip_requirements: list[str] = Field(default_factory=list)
    extra_pip_plugins: list[str] = Field(default_factory=list)
    extra_env_vars: dict[str, str] = Field(default_factory=dict)
    ingestion_source_urn: str | None = None
    source_type: str | None = None
    executor_id: str = "remote"
    run_timeout_seconds: int = DEFAULT_RUN_TIMEOUT_SECONDS
    task_cpu: str | None = None
    task_memory: str | None = None
    requested_at: int | None = None
    launched_at_ms: int | None = None
    actor_urn: str | None = None
    #: FARGATE or FARGATE_SPOT, as launched (the cost estimate); unset: the runner's CAPACITY_PROVIDER.
    capacity_provider: str | None = None
    #: The dispatcher's notes on the request (results.note_lines), repeated in every report of the runner.
    notes: list[str] = Field(default_factory=list)


#: Always in the runner container's overrides, so the reconciler can map a STOPPED task back
#: to its run from the event alone (StopTask deletes tags; overrides survive).
ENV_EXECUTION_REQUEST_URN = "EXECUTOR_EXECUTION_REQUEST_URN"
#: The run slot (`slots/<k>` in the run bucket) the run holds under MaxConcurrentRuns; the reconciler frees it.
ENV_SLOT = "EXECUTOR_SLOT"
#: The vCPUs the run holds in the vCPU ledger (`vcpus/ledger`) under MaxConcurrentVcpus; the reconciler frees them.
ENV_VCPUS = "EXECUTOR_VCPUS"
#: The ingestion source's lease (`sources/<id>` in the run bucket) the run holds under skip/queue/replace;
#: the reconciler frees it when the task stopped (executor_common/aws/source_lease.py).
ENV_SOURCE_LEASE = "EXECUTOR_SOURCE_LEASE"

#: The StopTask reason the dispatcher gives for a DataHub cancel; the reconciler keys CANCELLED on it.
CANCEL_REASON_PREFIX = "Cancelled in DataHub"

#: Tag keys on every run's task (findable in the console; values are URNs and ids).
TAG_EXECUTION_REQUEST = "datahub:execution-request"
TAG_INGESTION_SOURCE = "datahub:ingestion-source"
TAG_EXECUTOR_ID = "datahub:executor-id"
TAG_SOURCE_TYPE = "datahub:source-type"
TAG_RUN_TIMEOUT = "datahub:run-timeout-seconds"

#: Every run's task group starts with this (then the ingestion source's id): the reconciler's sign of "ours".
TASK_GROUP_PREFIX = "ingestion:"

#: The runner's container name in RunnerTaskDefinition.
RUNNER_CONTAINER_NAME = "runner"
