"""Which hop of a test run failed, and the fix for it: a pure judgement over what was observed.

The hops are the path of every run: the queue accepts the message, the dispatcher takes it and
launches a task, Fargate pulls the image and injects the secrets, the runner reaches DataHub GMS
and writes the result. Each is judged from what AWS and DataHub show (`Observations`), so the same
judgement serves a deployed stack and the local one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from executor_common.gms import UNREACHABLE

#: The runner's first write (executor_runner.run `_kickoff_text`): proof that it reached GMS.
RUNNER_KICKOFF = "Run started by executor"
TERMINAL = ("SUCCESS", "FAILURE", "CANCELLED", "ABORTED", "TIMEOUT")


@dataclass
class Observations:
    message_id: str | None = None
    #: Statuses DataHub showed for the run, with their reports, in the order seen.
    datahub: list[tuple[str, str]] = field(default_factory=list)
    #: The run's ECS task as DescribeTasks shows it (None: no task was found).
    task: dict[str, Any] | None = None
    #: The last lines of the runner's CloudWatch log stream (what the task printed), when readable.
    runner_log: list[str] = field(default_factory=list)


def runner_kicked_off(seen: Observations) -> bool:
    return any(RUNNER_KICKOFF in (report or "") for _, report in seen.datahub)


def gms_unreachable_from_task(seen: Observations) -> str | None:
    """The runner's own log line saying GMS did not answer, when DataHub never got the runner's kickoff.

    On AWS this is what a task whose subnets cannot reach GMS shows long before it gives up its final
    write (RUNNER_TERMINAL_WRITE_DEADLINE_SECONDS) and the reconciler reports it, so the probe stops on it.
    """
    if runner_kicked_off(seen):
        return None
    return next((line.strip() for line in seen.runner_log if UNREACHABLE in line), None)


@dataclass(frozen=True)
class Hop:
    name: str
    ok: bool | None  # None: not reached
    said: str
    fix: str = ""


def _container_reason(task: dict[str, Any]) -> str:
    return " ".join(str(c.get("reason") or "") for c in task.get("containers") or [])


def _started(task: dict[str, Any]) -> bool:
    return (
        bool(task.get("startedAt"))
        or task.get("lastStatus") == "RUNNING"
        or any(c.get("exitCode") is not None for c in task.get("containers") or [])
    )


def _cost_of(report: str) -> str:
    """The runner's cost and right-size lines (executor_common.cost, executor_runner.usage), when present."""
    lines = [ln for ln in report.splitlines() if ln.startswith(("Estimated cost:", "Memory: peak"))]
    return "".join(f"; {line}" for line in lines)


GMS_FIX = (
    "The runner's subnets cannot reach DataHubBaseUrl. Give them a route to it (a "
    "NAT gateway for a public GMS; VPC peering, Transit Gateway or VPN for a private one), allow egress to its port "
    "in the runner's security group (SecurityGroupIds) and in the network ACLs, and let the VPC resolve its name; "
    "then run the self-test again. If the runner's log shows HTTP 401 or 403 instead, the token in the stack's "
    "secret is not valid."
)


def _gms_said(seen: Observations) -> str:
    if runner_kicked_off(seen):
        return "the runner reached DataHub GMS from the task's subnets"
    evidence = gms_unreachable_from_task(seen)
    if evidence:
        lambdas = " (the Lambdas do: DataHub shows the dispatcher's RUNNING)" if seen.datahub else ""
        return (
            f"the runner could not reach DataHub GMS from the task's subnets{lambdas}; its log says: {evidence[:300]}"
        )
    terminal = [report for status, report in seen.datahub if status in TERMINAL]
    if terminal:
        headline = next((line for line in (terminal[-1] or "").splitlines() if line.strip()), "")
        return f"the runner never wrote to DataHub GMS; the reconciler, outside the subnets, wrote: {headline[:300]}"
    return "the runner never wrote to DataHub GMS"


def judge(seen: Observations) -> list[Hop]:
    """Every hop, in order: ok, failed (with the fix), or not reached after the first failure."""
    hops: list[Hop] = []
    reports = [report or "" for _, report in seen.datahub]
    statuses = [status for status, _ in seen.datahub]
    task = seen.task
    why = f"{task.get('stoppedReason') or ''} {_container_reason(task)}".strip() if task else ""

    def add(name: str, ok: bool, said: str, fix: str = "") -> bool:
        hops.append(Hop(name, ok, said, "" if ok else fix))
        return ok

    checks = [
        lambda: add(
            "message accepted",
            bool(seen.message_id),
            f"the command queue accepted the message ({seen.message_id})" if seen.message_id else "SendMessage failed",
            "Check the CommandQueueUrl output and that your identity may sqs:SendMessage (ProducerPolicyJson).",
        ),
        lambda: add(
            "dispatcher invoked",
            task is not None or bool(statuses),
            "the dispatcher took the message" if task is not None or statuses else "nothing took the message",
            "The dispatcher did not run: check its SQS event source mapping is enabled, its log group for errors "
            "(a settings error fails its start), and the command dead-letter queue.",
        ),
        lambda: add(
            "task started",
            task is not None,
            f"ECS task {task.get('taskArn')}" if task else "no task: " + (reports[-1][:300] if reports else "none"),
            "The dispatcher refused or could not launch the run: read the FAILURE it wrote in DataHub (above); "
            "RunTask errors name the subnet, security group, capacity or IAM PassRole problem.",
        ),
        lambda: add(
            "image pulled",
            task is not None
            and "CannotPullContainer" not in why
            and (_started(task) or "ResourceInitialization" in why),
            "the runner image was pulled" if task and "CannotPullContainer" not in why else f"image pull failed: {why}",
            "The subnets need a route to the registry (a NAT gateway, or VPC endpoints for ecr.api, ecr.dkr and "
            "S3), and RunnerImage (and SmallRunnerImage, if set) must exist; the execution role needs ECR pull.",
        ),
        lambda: add(
            "secrets fetched",
            task is not None and _started(task),
            "the container started with its secrets" if task and _started(task) else f"the task did not start: {why}",
            "The execution role must read the GMS token and recipe secrets (secretsmanager:GetSecretValue, KMS "
            "decrypt), and the subnets must reach Secrets Manager (NAT or a VPC endpoint).",
        ),
        lambda: add("GMS reachable", runner_kicked_off(seen), _gms_said(seen), GMS_FIX),
        lambda: add(
            "result written",
            any(s in TERMINAL for s in statuses),
            f"DataHub shows {statuses[-1]}{_cost_of(reports[-1])}" if statuses else "no result in DataHub",
            "The run did not finish in time: read the task's log (RunnerLogGroupName) and raise the self-test's "
            "--timeout if the image or the source is slow.",
        ),
    ]
    for check in checks:
        if not check():
            break
    names = [h.name for h in hops]
    for name in HOP_NAMES[len(names) :]:
        hops.append(Hop(name, None, "not reached"))
    return hops


HOP_NAMES = (
    "message accepted",
    "dispatcher invoked",
    "task started",
    "image pulled",
    "secrets fetched",
    "GMS reachable",
    "result written",
)


def render(hops: list[Hop]) -> str:
    lines = []
    for hop in hops:
        mark = {True: "ok  ", False: "FAIL", None: "--  "}[hop.ok]
        lines.append(f"{mark} {hop.name}: {hop.said}")
        if hop.fix:
            lines.append(f"     fix: {hop.fix}")
    failed = next((h for h in hops if h.ok is False), None)
    lines.append(f"Self-test FAILED at '{failed.name}'." if failed else "Self-test passed: every hop works.")
    return "\n".join(lines)
