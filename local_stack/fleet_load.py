"""Fleet load on the local stack (issue 14's figures): a burst against the run limit, the same under RunTask
capacity and vCPU-quota refusals, many runs of one source under `queue` and `skip`, Spot interruptions with
the on-demand fallback, and a GMS outage during a burst.

Shared by `bench/bench_fleet.py` (the figures at full size) and `tests/e2e/test_e2e_fleet.py` (small).
Each scenario sends commands as DataHub does (the request's input stored in the GMS stand-in, then the
command on the queue), samples the cluster while it runs, waits until everything settled (every run in a
final status, no container, nothing in flight on the queues) and returns what it saw; `check_*` says
which promise a figure broke.

What is real: SQS (moto), the dispatcher and reconciler handlers in their own processes with the stack's
parameters, admission control, waiting, overlap, Spot fallback and retries as deployed; RunTask through
moto with `aws_fidelity` (clientToken, ECS's failure answers); the agent's STOPPED events through
EventBridge; one real runner process (`python -m executor_runner`) per task, which writes RUNNING and the
final status to the GMS stand-in over HTTP and uploads its run folder. The dispatcher runs at the template's
concurrency (DispatcherMaxConcurrency, 5 execution environments at once, each pacing RunTask at its share of
RunTaskRate): the run limit is exact across them through the run slots, and the overlap policies through the
per-source lease (README "Limits and their exactness"). What is scaled (`FAST_MODE`): the runner's
`datahub ingest` child is `quick_ingest.py` (a second, no DataHub import), and the waiting check and the
retry backoff are seconds instead of minutes.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from executor_common.runspec import ENV_CAPACITY_PROVIDER, ENV_OVERLAP_POLICY, TAG_EXECUTION_REQUEST
from executor_common.status import TERMINAL_STATUSES

from local_stack.aws_fidelity import FargateConditions, fargate_refusals, set_fargate_conditions
from local_stack.commands import new_execution_urn, run_command
from local_stack.moto_server import ACCOUNT_ID
from local_stack.stack import LocalStack

#: The stack-wide limit of the figures (MaxConcurrentRuns).
LIMIT = 20
FAST_MODE = (
    "fast container mode: each task runs the real runner (python -m executor_runner: RUNNING and final status to "
    "GMS over HTTP, log relay, run folder to S3) with `datahub ingest` replaced by local_stack/quick_ingest.py "
    "({seconds:g} s, no DataHub import); WAIT_CHECK_SECONDS={wait_check}, RETRY_BASE_SECONDS=5 (minutes on AWS); "
    "everything else as deployed, the dispatcher at the template's concurrency"
)
RECIPE = {
    "source": {"type": "sqlalchemy", "config": {"platform": "sqlite", "connect_uri": "sqlite:////tmp/fleet.db"}},
    "pipeline_name": "fleet",
}
SOURCE_PREFIX = "urn:li:dataHubIngestionSource:fleet-"


def fleet_stack(*, quick_ingest_seconds: float = 1.0, wait_check_seconds: int = 3, **options: Any) -> LocalStack:
    """A local stack set up for the figures (not started): limit LIMIT, fast container mode, short waits."""
    return LocalStack(
        log_level="ERROR",
        # MaxConcurrentVcpus 0: the figures inject the account's vCPU quota per burst and show RunTask's quota
        # answer making runs wait; with the default (quota) the stack would read it and never ask over it.
        extra_parameters={"MaxConcurrentRuns": str(LIMIT), "MaxConcurrentVcpus": "0"},
        function_environment={
            "DispatcherFunction": {
                "WAIT_CHECK_SECONDS": str(wait_check_seconds),
                "RETRY_BASE_SECONDS": "5",
                "RETRY_MAX_SECONDS": "30",
            }
        },
        quick_ingest_seconds=quick_ingest_seconds,
        **options,
    )


def fast_mode_note(quick_ingest_seconds: float = 1.0, wait_check_seconds: int = 3) -> str:
    return FAST_MODE.format(seconds=quick_ingest_seconds, wait_check=wait_check_seconds)


# -- what the cluster does ---------------------------------------------------------------------
@dataclass
class SeenTask:
    arn: str
    urn: str | None
    group: str | None
    capacity_provider: str | None
    first_seen: float


@dataclass
class Sampler:
    """Reads moto's ECS tasks every `interval` (the agent's view, no API calls): how many are live at once,
    overall and per task group (one group per ingestion source), and when each task first appeared."""

    stack: LocalStack
    interval: float = 0.1
    most_live: int = 0
    most_live_per_group: int = 0
    samples: int = 0
    tasks: dict[str, SeenTask] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._loop, name="fleet-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(RuntimeError):  # a dict that grew while read: sample again
                self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        from moto.ecs.models import ecs_backends

        assert self.stack.aws is not None
        backend = ecs_backends[ACCOUNT_ID][self.stack.aws.region]
        now = time.monotonic()
        live: Counter[str] = Counter()
        for tasks in list(backend.tasks.values()):
            for arn, task in list(tasks.items()):
                if arn not in self.tasks:
                    tags = {t.get("key"): t.get("value") for t in (task.tags or [])}
                    self.tasks[arn] = SeenTask(
                        arn, tags.get(TAG_EXECUTION_REQUEST), task.group, task.capacity_provider_name, now
                    )
                if task.last_status != "STOPPED":
                    live[task.group or ""] += 1
        self.samples += 1
        self.most_live = max(self.most_live, sum(live.values()))
        self.most_live_per_group = max([self.most_live_per_group, *live.values()])

    def tasks_of(self, urn: str) -> list[SeenTask]:
        return sorted((t for t in self.tasks.values() if t.urn == urn), key=lambda t: t.first_seen)


# -- requests and their end ----------------------------------------------------------------------
def request_run(
    stack: LocalStack, name: str, *, source: str | None = None, extra_env_vars: dict[str, str] | None = None
) -> str:
    """What DataHub does for a run: store the request's input, then put the command on the queue. Its urn."""
    assert stack.gms is not None
    urn = new_execution_urn(name)
    command = run_command(urn, RECIPE, extra_env_vars=extra_env_vars, ingestion_source=source)
    if source is not None:
        command["aspect"]["source"]["type"] = "SCHEDULED_INGESTION_SOURCE"
    stack.gms.seed_request(urn, command["aspect"])
    stack.send(command)
    return urn


def queue_depth(stack: LocalStack, queue_url: str) -> int:
    """Messages visible, in flight and delayed (a waiting run is a delayed message)."""
    assert stack.aws is not None
    names = [f"ApproximateNumberOf{kind}" for kind in ("Messages", "MessagesNotVisible", "MessagesDelayed")]
    attributes = stack.aws.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)


def statuses(stack: LocalStack, urns: list[str]) -> dict[str, str | None]:
    assert stack.gms is not None
    return {urn: (stack.gms.result(urn) or {}).get("status") for urn in urns}


def settle(stack: LocalStack, urns: list[str], timeout: float, *, quiet_seconds: float = 3.0) -> dict[str, str | None]:
    """Wait until every run shows a final status, no container runs and the command and reconciler queues are
    empty, for `quiet_seconds` in a row (a re-run or a late event would break the quiet). Final statuses."""
    assert stack.info is not None and stack.agent is not None
    queues = [stack.info.queue_url, *(p.queue_url for p in stack.pollers)]
    deadline, quiet_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        done = all(s in TERMINAL_STATUSES for s in statuses(stack, urns).values())
        idle = done and not stack.agent.running_tasks() and all(queue_depth(stack, q) == 0 for q in set(queues))
        if idle:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= quiet_seconds:
                return statuses(stack, urns)
        else:
            quiet_since = None
        time.sleep(0.5)
    left = Counter(str(s) for s in statuses(stack, urns).values())
    raise TimeoutError(f"runs did not settle in {timeout:.0f} s: {dict(left)}")


@dataclass
class Outcome:
    """What one scenario saw."""

    name: str
    requests: int
    seconds: float
    final: dict[str, str | None]
    most_live: int
    most_live_per_group: int
    tasks_per_run: dict[str, int]
    longest_wait_s: float
    launch_rate_per_s: float
    dlq: int
    refused: dict[str, int]
    interrupted: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def by_status(self) -> dict[str, int]:
        return dict(Counter(str(s) for s in self.final.values()))

    def figures(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 1),
            "final_statuses": self.by_status,
            "most_running_at_once": self.most_live,
            "most_running_of_one_source": self.most_live_per_group,
            "tasks": sum(self.tasks_per_run.values()),
            "longest_wait_s": round(self.longest_wait_s, 1),
            "launch_rate_per_s": round(self.launch_rate_per_s, 2),
            "dlq": self.dlq,
            "runtask_refused": self.refused,
            "spot_interrupted": self.interrupted,
            **self.extra,
        }


def _outcome(
    name: str, stack: LocalStack, sampler: Sampler, sent: dict[str, float], started: float, timeout: float
) -> Outcome:
    assert stack.info is not None and stack.agent is not None
    final = settle(stack, list(sent), timeout)
    seconds = time.monotonic() - started
    tasks = {urn: sampler.tasks_of(urn) for urn in sent}
    firsts = sorted(t[0].first_seen for t in tasks.values() if t)
    waits = [ts[0].first_seen - sent[urn] for urn, ts in tasks.items() if ts]
    span = firsts[-1] - firsts[0] if len(firsts) > 1 else 0.0
    return Outcome(
        name=name,
        requests=len(sent),
        seconds=seconds,
        final=final,
        most_live=sampler.most_live,
        most_live_per_group=sampler.most_live_per_group,
        tasks_per_run={urn: len(ts) for urn, ts in tasks.items()},
        longest_wait_s=max(waits, default=0.0),
        launch_rate_per_s=(len(firsts) - 1) / span if span > 0 else 0.0,
        dlq=queue_depth(stack, stack.info.dead_letter_queue_url),
        refused=fargate_refusals(),
        interrupted=len(stack.agent.interrupted),
    )


@contextlib.contextmanager
def _conditions(stack: LocalStack, fargate: FargateConditions, spot_interruption_rate: float = 0.0) -> Iterator[None]:
    assert stack.agent is not None
    set_fargate_conditions(fargate)
    stack.agent.interrupted.clear()
    stack.agent.spot_interruption_rate = spot_interruption_rate
    try:
        yield
    finally:
        stack.agent.spot_interruption_rate = 0.0
        set_fargate_conditions(None)


# -- the scenarios -------------------------------------------------------------------------------
def burst(
    stack: LocalStack,
    runs: int,
    *,
    name: str = "burst",
    fargate: FargateConditions | None = None,
    gms_outage_seconds: float = 0.0,
    timeout: float = 900.0,
) -> Outcome:
    """`runs` requests at once, each of its own source; optionally RunTask refusals, and GMS down for
    `gms_outage_seconds` once the first runs are going."""
    assert stack.gms is not None
    with _conditions(stack, fargate or FargateConditions()), Sampler(stack) as sampler:
        started = time.monotonic()
        sent: dict[str, float] = {}
        for index in range(runs):
            sent[request_run(stack, f"{name}-{index:04d}", source=f"{SOURCE_PREFIX}{name}-{index:04d}")] = (
                time.monotonic()
            )
        extra: dict[str, Any] = {}
        if gms_outage_seconds:
            extra = _outage(stack, sampler, gms_outage_seconds)
        outcome = _outcome(name, stack, sampler, sent, started, timeout)
    outcome.extra.update(extra)
    return outcome


def _outage(stack: LocalStack, sampler: Sampler, seconds: float) -> dict[str, Any]:
    """GMS answers 503 to everything for `seconds`, from the moment a few runs are going."""
    assert stack.gms is not None
    deadline, before = time.monotonic() + 120, len(sampler.tasks)
    while len(sampler.tasks) < before + 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    stack.gms.fail_next(10**9, 503)
    down_at, launched = time.monotonic(), len(sampler.tasks) - before
    time.sleep(seconds)
    stack.gms.end_failures()
    return {"gms_outage_s": round(time.monotonic() - down_at, 1), "runs_going_when_gms_went_down": launched}


def one_source(stack: LocalStack, runs: int, policy: str, *, timeout: float = 900.0) -> Outcome:
    """`runs` scheduled runs of one ingestion source at once, with EXECUTOR_OVERLAP_POLICY=`policy`."""
    source = f"{SOURCE_PREFIX}one-source-{policy}"
    with _conditions(stack, FargateConditions()), Sampler(stack) as sampler:
        started = time.monotonic()
        sent: dict[str, float] = {}
        for index in range(runs):
            urn = request_run(
                stack, f"{policy}-{index:03d}", source=source, extra_env_vars={ENV_OVERLAP_POLICY: policy}
            )
            sent[urn] = time.monotonic()
        outcome = _outcome(f"one source, {policy}", stack, sampler, sent, started, timeout)
    return outcome


def spot(
    stack: LocalStack, runs: int, *, interruption_rate: float, no_capacity_rate: float = 0.0, timeout: float = 900.0
) -> Outcome:
    """`runs` runs opted into FARGATE_SPOT_WITH_FALLBACK; the agent interrupts `interruption_rate` of Spot tasks."""
    fargate = FargateConditions(spot_no_capacity_rate=no_capacity_rate)
    with _conditions(stack, fargate, interruption_rate), Sampler(stack) as sampler:
        started = time.monotonic()
        sent: dict[str, float] = {}
        for index in range(runs):
            urn = request_run(
                stack,
                f"spot-{index:03d}",
                source=f"{SOURCE_PREFIX}spot-{index:03d}",
                extra_env_vars={ENV_CAPACITY_PROVIDER: "FARGATE_SPOT_WITH_FALLBACK"},
            )
            sent[urn] = time.monotonic()
        outcome = _outcome("spot", stack, sampler, sent, started, timeout)
        interrupted = set(stack.agent.interrupted if stack.agent else [])
    reruns = {urn: [t.capacity_provider for t in sampler.tasks_of(urn)] for urn in sent}
    outcome.extra.update(
        {
            "interrupted_runs": sorted(urn for urn in sent if any(t.arn in interrupted for t in sampler.tasks_of(urn))),
            "capacity_per_run": reruns,
            "reran_on_demand": sum(providers == ["FARGATE_SPOT", None] for providers in reruns.values()),
        }
    )
    return outcome


def _spot_rerun(stack: LocalStack, urn: str) -> tuple[bool, bool]:
    """(Was the run re-run: a PENDING after it first ran, as the reconciler writes when it sends the on-demand
    re-run; had it ended SUCCESS before that re-run)."""
    assert stack.gms is not None
    statuses = [r.get("status") for r in stack.gms.history(urn)]
    if "RUNNING" not in statuses:
        return False, False
    since_running = statuses[statuses.index("RUNNING") :]
    if "PENDING" not in since_running:
        return False, False
    return True, "SUCCESS" in since_running[: since_running.index("PENDING")]


# -- the promises ----------------------------------------------------------------------------------
def check_burst(outcome: Outcome, limit: int = LIMIT) -> list[str]:
    """Every run SUCCESS, launched once, never more than `limit` at once, nothing in the DLQ."""
    problems = []
    if outcome.by_status != {"SUCCESS": outcome.requests}:
        problems.append(f"final statuses {outcome.by_status}, not all SUCCESS")
    if outcome.most_live > limit:
        problems.append(f"{outcome.most_live} tasks ran at once, above the limit of {limit}")
    twice = [urn for urn, n in outcome.tasks_per_run.items() if n != 1]
    if twice:
        problems.append(f"{len(twice)} runs did not launch exactly once, e.g. {twice[:3]}")
    if outcome.dlq:
        problems.append(f"{outcome.dlq} messages in the DLQ")
    return problems


def check_one_source(outcome: Outcome, policy: str, stack: LocalStack) -> list[str]:
    """At most one run of the source at a time; `queue`: every run SUCCESS; `skip`: the others DUPLICATE,
    each naming a run that was going."""
    assert stack.gms is not None
    problems = []
    if outcome.most_live_per_group > 1:
        problems.append(f"{outcome.most_live_per_group} runs of the source ran at once")
    if policy == "queue" and outcome.by_status != {"SUCCESS": outcome.requests}:
        problems.append(f"queue: final statuses {outcome.by_status}, not all SUCCESS")
    if policy == "skip":
        if set(outcome.by_status) - {"SUCCESS", "DUPLICATE"} or not outcome.by_status.get("DUPLICATE"):
            problems.append(f"skip: final statuses {outcome.by_status}, not SUCCESS and DUPLICATE")
        for urn, status in outcome.final.items():
            report = (stack.gms.result(urn) or {}).get("report", "")
            if status == "DUPLICATE" and "another run of this ingestion source is still going" not in report:
                problems.append(f"skip: {urn} is DUPLICATE without naming the run still going")
            if status == "DUPLICATE" and outcome.tasks_per_run[urn]:
                problems.append(f"skip: {urn} is DUPLICATE but launched a task")
    launched_twice = [urn for urn, n in outcome.tasks_per_run.items() if n > 1]
    if launched_twice:
        problems.append(f"{len(launched_twice)} runs launched more than once")
    if outcome.dlq:
        problems.append(f"{outcome.dlq} messages in the DLQ")
    return problems


def check_spot(outcome: Outcome, stack: LocalStack) -> list[str]:
    """Every run SUCCESS; an interrupted run re-ran once on on-demand, as the same (only) execution request,
    unless the ingestion had completed before the interruption came."""
    assert stack.gms is not None
    problems = check_burst_without_once(outcome)
    interrupted = set(outcome.extra["interrupted_runs"])
    if not interrupted:
        problems.append("no Spot task was interrupted: the figure shows nothing")
    for urn, providers in outcome.extra["capacity_per_run"].items():
        # not re-run, yet SUCCESS (checked above): the ingestion had completed when the interruption came
        rerun, succeeded_before = _spot_rerun(stack, urn) if urn in interrupted else (False, False)
        if succeeded_before:
            problems.append(f"{urn}: re-run on on-demand after it had ended SUCCESS")
        expected = ["FARGATE_SPOT", None] if rerun else ["FARGATE_SPOT"]
        if providers != expected and not (urn not in interrupted and providers == [None]):  # no Spot room: on-demand
            problems.append(f"{urn}: tasks on {providers}, expected {expected}")
    ours = {urn for urn in stack.gms.urns("dataHubExecutionRequest") if "spot-" in urn}
    if ours != set(outcome.final):
        problems.append(f"DataHub holds {len(ours)} spot execution requests for {outcome.requests} requested")
    return problems


def check_burst_without_once(outcome: Outcome, limit: int = LIMIT) -> list[str]:
    return [p for p in check_burst(outcome, limit) if "exactly once" not in p]
