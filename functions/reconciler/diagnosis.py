"""Why a task stopped, in plain words, from the STOPPED event alone: a pure function, table-tested.

The rules are checked in order; the first that matches wins. Infrastructure interruptions come
first (nothing the user did), then an explicit out-of-memory kill (the most common failure and
the clearest signal), then deliberate stops (cancel, backstop, someone else's StopTask), then
start-up failures (image, secrets, capacity), then exit codes. A StopTask sends SIGTERM and, after
the container's stop timeout, SIGKILL, so exit 137 is only read as out-of-memory when nobody
asked the task to stop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from executor_common.durations import human_duration
from executor_common.ecs_task import ContainerState, TaskDetail
from executor_common.fargate_sizes import MAX_MEMORY_MIB
from executor_common.runspec import (
    CANCEL_REASON_PREFIX,
    ENV_RUN_TIMEOUT,
    ENV_TASK_CPU,
    ENV_TASK_MEMORY,
    RUNNER_CONTAINER_NAME,
)
from executor_common.status import ExecutionStatus
from executor_common.stop_reasons import BACKSTOP_REASON_PREFIX

OOM_MARKER = "OutOfMemoryError"
PULL_MARKER = "CannotPullContainerError"
RESOURCE_INIT_MARKER = "ResourceInitializationError"
SIGKILL_EXIT_CODE = 137
#: Stops ECS explains better than the runner can: it writes CANCELLED on any SIGTERM, but these were
#: not cancels, so their diagnosis replaces a runner-written CANCELLED (see `ordering`).
NOT_A_CANCEL = frozenset({"SpotInterruption", "TerminationNotice", "TimedOut"})


@dataclass(frozen=True)
class Diagnosis:
    """What DataHub should show: a status, a one-line headline, why, how to fix it, and the raw facts."""

    status: ExecutionStatus
    reason: str  # short code, used as the metric dimension
    headline: str
    explanation: str
    fix: str
    details: list[str] = field(default_factory=list)

    @property
    def replaces_runner_cancel(self) -> bool:
        """ECS says this stop was not a cancel, so a CANCELLED the runner wrote on SIGTERM is replaced."""
        return self.reason in NOT_A_CANCEL


def _all_reasons(detail: TaskDetail) -> str:
    return " | ".join([detail.stoppedReason or "", *(c.reason or "" for c in detail.containers)])


def _run_timeout_seconds(detail: TaskDetail) -> int | None:
    raw = (detail.override_env(ENV_RUN_TIMEOUT) or "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def _memory_mib(detail: TaskDetail) -> int | None:
    raw = detail.overrides.memory or detail.memory
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _facts(detail: TaskDetail) -> list[str]:
    facts = [f"Task: {detail.taskArn}"]
    facts.append(f"Stop code: {detail.stopCode or '(none)'}")
    facts.append(f"Stopped reason: {detail.stoppedReason or '(none)'}")
    if not detail.containers:
        facts.append("Containers: none were created")
    for container in detail.containers:
        exit_code = "none (never ran or still starting)" if container.exitCode is None else str(container.exitCode)
        line = f"Container {container.name or '?'}: exit code {exit_code}"
        if container.reason:
            line += f", reason: {container.reason}"
        if container.image:
            line += f", image: {container.image}"
        facts.append(line)
    cpu = detail.overrides.cpu or detail.cpu
    memory = _memory_mib(detail)
    if cpu or memory:
        facts.append(f"Task size: CPU {cpu or '?'} units, memory {memory or '?'} MiB")
    launch = detail.capacityProviderName or detail.launchType
    if launch:
        facts.append(f"Capacity: {launch}")
    for label, value in (("Started at", detail.startedAt), ("Stopped at", detail.stoppedAt)):
        if value is not None:
            facts.append(f"{label}: {value.isoformat()}")
    return facts


def _out_of_memory(detail: TaskDetail, certain: bool) -> tuple[str, str, str]:
    memory = _memory_mib(detail)
    size = f"{memory} MiB" if memory else "its memory limit"
    suggestion = f" (for example {min(memory * 2, MAX_MEMORY_MIB)})" if memory else ""
    headline = (
        "The run ran out of memory" if certain else "The run was killed (exit code 137), most likely out of memory"
    )
    explanation = (
        f"The ingestion used more memory than the task's {size}, so the container was killed before the "
        "runner could report. Large sources, big profiling jobs or many parallel workers commonly cause this."
    )
    fix = (
        f"In DataHub, edit this ingestion source and add the extra environment variable {ENV_TASK_MEMORY} with a "
        f"larger value in MiB{suggestion}; Fargate may also need a matching {ENV_TASK_CPU}. Then run it again. "
        "Reducing profiling or the number of tables per run also lowers memory use."
    )
    return headline, explanation, fix


def _image_pull(detail: TaskDetail) -> tuple[str, str, str]:
    image = next((c.image for c in detail.containers if c.image), None)
    return (
        "The runner image could not be pulled",
        f"ECS could not download the runner container image{f' {image}' if image else ''}, so the run never started.",
        "Check that the image and tag exist in the registry (the stack's runner image parameter), that the "
        "task execution role may pull from ECR (ecr:GetAuthorizationToken, ecr:BatchGetImage, "
        "ecr:GetDownloadUrlForLayer), and that the subnets reach the registry: a NAT gateway, a public IP, or VPC "
        "endpoints for ECR (ecr.api, ecr.dkr) and S3 (gateway).",
    )


_SECRET_ARN = re.compile(r"arn:aws[\w-]*:secretsmanager:[\w-]+:\d+:secret:[^\s,;]+")
SECRET_MARKERS = ("asm", "secrets manager", "secretsmanager", "ssm", "fetch secret", "retrieve secret")


def _resource_init(detail: TaskDetail) -> tuple[str, str, str]:
    # ECS words every such failure "unable to pull secrets or registry auth", so look for the specific part.
    text = _all_reasons(detail).lower()
    if any(marker in text for marker in SECRET_MARKERS):
        secret = _SECRET_ARN.search(_all_reasons(detail))
        what = f"the secret {secret.group(0)}" if secret else "a secret the run needs"
        if "accessdenied" in text:
            what += " (the execution role is not allowed to read it)"
        elif "resourcenotfound" in text:
            what += " (it does not exist)"
        specific = (
            "Check that every secret the recipe references exists under the configured name or ARN, that the "
            "task execution role may call secretsmanager:GetSecretValue on it (and kms:Decrypt for a customer "
            "key), and that the subnets reach Secrets Manager (NAT gateway or a secretsmanager VPC endpoint)."
        )
    elif "ecr" in text or "registry" in text:
        what = "the container registry credentials"
        specific = (
            "Check that the task execution role may call ecr:GetAuthorizationToken and pull the image, and that "
            "the subnets reach ECR (NAT gateway, a public IP, or VPC endpoints for ecr.api, ecr.dkr and S3)."
        )
    elif "logger" in text or "log group" in text:
        what = "the CloudWatch log configuration"
        specific = (
            "Check that the runner's log group exists, that the execution role may write to it, and that the "
            "subnets reach CloudWatch Logs (NAT gateway or a logs VPC endpoint)."
        )
    else:
        what = "the registry credentials or secrets"
        specific = (
            "Check the task execution role's permissions for ECR and Secrets Manager, the secret names or ARNs, "
            "and that the subnets reach ECR, Secrets Manager and CloudWatch Logs (NAT gateway or VPC endpoints)."
        )
    return (
        "The task could not be prepared",
        f"ECS could not fetch {what} before starting the container, so the run never started.",
        specific,
    )


def _failed_to_start(detail: TaskDetail) -> tuple[str, str, str]:
    text = (detail.stoppedReason or "").lower()
    if "address" in text or "network interface" in text or "eni" in text:
        cause = "no network interface could be set up in the run's subnets (often no free IP addresses)"
    elif "capacity" in text:
        cause = "Fargate had no capacity for this task size in the subnets' Availability Zones"
    else:
        cause = "ECS could not place or start it"
    return (
        "The task failed to start",
        f"The run's task never started: {cause}.",
        "Run it again later. If it keeps failing, give the stack subnets in more Availability Zones with free "
        "IP addresses, use FARGATE rather than FARGATE_SPOT, or pick a smaller or more common task size.",
    )


def _nonzero_exit(container: ContainerState) -> tuple[str, str, str]:
    return (
        f"The runner exited with code {container.exitCode} before reporting",
        f"The container {container.name} stopped with exit code {container.exitCode} and DataHub never received "
        "the run's final status: the runner crashed or could not reach DataHub.",
        "Read the last log lines below. If the runner could not reach DataHub, check the GMS URL, the token "
        "secret and the network path from the subnets to DataHub; then run it again.",
    )


def _exited_without_report() -> tuple[str, str, str]:
    return (
        "The runner finished but its final status never reached DataHub",
        "The container exited normally (exit code 0), but DataHub still showed the run as in progress: the runner "
        "could not deliver its final status (DataHub unreachable or refusing it). The ingestion's own outcome is "
        "unknown here; the log lines below show how it ended.",
        "Check that DataHub (GMS) is reachable from the subnets and that the token is valid, then run it again "
        "if the log shows the ingestion did not complete.",
    )


def _first_failed_container(detail: TaskDetail) -> ContainerState | None:
    runner = detail.container(RUNNER_CONTAINER_NAME)
    ordered = ([runner] if runner else []) + [c for c in detail.containers if c is not runner]
    return next((c for c in ordered if c.exitCode not in (None, 0)), None)


def diagnose(detail: TaskDetail) -> Diagnosis:
    """The status and plain-words explanation for a STOPPED task whose runner did not report."""
    facts = _facts(detail)
    reasons = _all_reasons(detail)
    stopped_reason = detail.stoppedReason or ""
    stop_code = detail.stopCode or ""

    def make(status: ExecutionStatus, reason: str, texts: tuple[str, str, str]) -> Diagnosis:
        return Diagnosis(status, reason, texts[0], texts[1], texts[2], facts)

    if stop_code == "SpotInterruption":
        return make(
            ExecutionStatus.ABORTED,
            "SpotInterruption",
            (
                "AWS reclaimed the Fargate Spot capacity",
                "The task ran on Fargate Spot and AWS took the capacity back (a Spot interruption); "
                "the run was interrupted, not broken.",
                "Run it again. For runs that must not be interrupted, set the stack's capacity provider to FARGATE.",
            ),
        )
    if stop_code == "TerminationNotice":
        return make(
            ExecutionStatus.ABORTED,
            "TerminationNotice",
            (
                "AWS stopped the task (termination notice)",
                "AWS retired the infrastructure the task ran on (for example Fargate maintenance); "
                "the run was interrupted, not broken.",
                "Run it again.",
            ),
        )
    if OOM_MARKER in reasons:
        return make(ExecutionStatus.FAILURE, "OutOfMemory", _out_of_memory(detail, certain=True))
    if stopped_reason.startswith(CANCEL_REASON_PREFIX):
        return make(
            ExecutionStatus.CANCELLED,
            "Cancelled",
            (
                "The run was cancelled",
                f"The run was cancelled from DataHub ({stopped_reason}) and its task stopped before the runner "
                "could confirm it.",
                "Nothing to fix; run it again when needed.",
            ),
        )
    if stopped_reason.startswith(BACKSTOP_REASON_PREFIX):
        timeout = _run_timeout_seconds(detail)
        return make(
            ExecutionStatus.FAILURE,
            "TimedOut",
            (
                f"The run timed out after {human_duration(timeout)}" if timeout else "The run timed out",
                f"The run went on past its timeout and its runner did not stop it, so the executor stopped the task "
                f"({stopped_reason}).",
                "If the source legitimately needs longer, raise the per-source setting EXECUTOR_RUN_TIMEOUT_SECONDS "
                "in the ingestion source's extra environment variables; otherwise read the last log lines below "
                "for where it hung.",
            ),
        )
    if stop_code == "UserInitiated":
        return make(
            ExecutionStatus.CANCELLED,
            "StoppedByUser",
            (
                "The task was stopped outside DataHub",
                f"Someone or something stopped the run's ECS task directly (reason: {stopped_reason or 'none given'}).",
                "Nothing to fix if that was intended; otherwise cancel runs from DataHub and run it again.",
            ),
        )
    if PULL_MARKER in reasons:
        return make(ExecutionStatus.FAILURE, "ImagePull", _image_pull(detail))
    if RESOURCE_INIT_MARKER in reasons:
        return make(ExecutionStatus.FAILURE, "ResourceInitialization", _resource_init(detail))
    if stop_code == "TaskFailedToStart":
        return make(ExecutionStatus.FAILURE, "FailedToStart", _failed_to_start(detail))
    failed = _first_failed_container(detail)
    if failed is not None and failed.exitCode == SIGKILL_EXIT_CODE:
        return make(ExecutionStatus.FAILURE, "OutOfMemory", _out_of_memory(detail, certain=False))
    if failed is not None:
        return make(ExecutionStatus.FAILURE, "ContainerExited", _nonzero_exit(failed))
    runner = detail.container(RUNNER_CONTAINER_NAME)
    if runner is not None and runner.exitCode == 0:
        return make(ExecutionStatus.FAILURE, "ExitedWithoutReport", _exited_without_report())
    return make(
        ExecutionStatus.FAILURE,
        "Unknown",
        (
            "The run's task stopped without reporting",
            f"The task stopped ({stop_code or 'no stop code'}: {stopped_reason or 'no reason given'}) and the runner "
            "never sent a final status.",
            "Read the facts and the last log lines below; run it again once the cause is fixed.",
        ),
    )
