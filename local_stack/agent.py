"""The local ECS agent: runs each task the dispatcher launched on moto as a real runner subprocess.

For every new task of the cluster it does what ECS and the awslogs driver do on Fargate:
resolves the task definition's `secrets` from (moto's) Secrets Manager — a secret that cannot
be read stops the task with `TaskFailedToStart` / `ResourceInitializationError` as ECS does —,
builds the container environment (task definition + `containerOverrides`), starts the
container command (`python -m executor_runner`) in its own process group, and relays its
output to a per-task file and to CloudWatch Logs stream `<prefix>/<container>/<task-id>`.
StopTask (desiredStatus STOPPED) sends SIGTERM, then SIGKILL after the container's
`stopTimeout`. `interrupt_spot(task)` does what Fargate does when it reclaims Spot capacity
(stopCode `SpotInterruption`, the STOPPING event, SIGTERM), and with `spot_interruption_rate` it does so
by itself to that share of the Spot tasks it starts, `spot_interruption_after_seconds` after their start;
`backdate(task, seconds)` makes a task look
as old as a hung run, so the backstop's own sweep stops it with its reason.
When the process exits, the task is marked STOPPED with exit code, stopCode
and stoppedReason, and an "ECS Task State Change" event is published.

moto has no API to set a task's exit code or status, so those are set on moto's own task
objects (`moto.ecs.models.ecs_backends`), which requires moto to run in this process
(`MotoServer` is a `ThreadedMotoServer`). With the state manager set to "manual" (see
`moto_server.py`), DescribeTasks no longer advances tasks on its own.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from executor_runner.processes import descendants

from local_stack.event_shapes import task_state_change_event
from local_stack.moto_server import ACCOUNT_ID, aws_environment
from local_stack.task_cgroup import TaskCgroup
from local_stack.task_metadata import TaskMetadataServer, task_metadata

logger = logging.getLogger(__name__)

#: Fargate's default when a container definition sets no stopTimeout.
DEFAULT_STOP_TIMEOUT_SECONDS = 30
ESSENTIAL_CONTAINER_EXITED = "Essential container in task exited"
#: What ECS says when it reclaims Fargate Spot capacity (stopCode SpotInterruption).
SPOT_INTERRUPTION_REASON = "Your Spot Task was interrupted."
#: Host variables a container process needs to start at all (the rest of this process's environment stays out).
HOST_VARIABLES = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "SYSTEMROOT")
REPO_ROOT = Path(__file__).resolve().parent.parent
#: On a task's PYTHONPATH when its subnets cannot reach some destination (see its `sitecustomize`).
TASK_NETWORK = Path(__file__).resolve().parent / "task_network"
UNREACHABLE_ENV = "LOCAL_TASK_UNREACHABLE"


class SecretPullError(RuntimeError):
    """A `secrets` entry could not be read: the task fails to start, as on ECS."""


def runner_command() -> list[str]:
    """What the runner image's entry point runs, with this interpreter (which has acryl-datahub)."""
    return [sys.executable, "-m", "executor_runner"]


def container_definition(task_definition: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """The named container (or the first essential one) of a described task definition."""
    containers = task_definition.get("containerDefinitions", [])
    for container in containers:
        if (name is None and container.get("essential", True)) or container.get("name") == name:
            return dict(container)
    raise ValueError(f"task definition {task_definition.get('taskDefinitionArn')} has no container {name!r}")


def container_environment(
    container: dict[str, Any], overrides: dict[str, Any], secret_values: dict[str, str]
) -> dict[str, str]:
    """The container's variables as ECS sets them: definition, then overrides (which win), then secrets."""
    env = {item["name"]: item.get("value", "") for item in container.get("environment", [])}
    for override in overrides.get("containerOverrides", []):
        if override.get("name") == container.get("name"):
            env.update({item["name"]: item.get("value", "") for item in override.get("environment", [])})
    env.update(secret_values)
    return env


def secret_id_and_key(value_from: str) -> tuple[str, str | None]:
    """`arn:...:secret:name-AbCdEf[:json-key:version-stage:version-id]` -> (secret id, json key or None)."""
    parts = value_from.split(":")
    if value_from.startswith("arn:") and len(parts) > 7:
        return ":".join(parts[:7]), parts[7] or None
    return value_from, None


def resolve_secrets(secretsmanager: Any, secrets: list[dict[str, str]]) -> dict[str, str]:
    """name -> value for every `secrets` entry; SecretPullError with ECS's wording when one cannot be read."""
    from botocore.exceptions import ClientError

    values: dict[str, str] = {}
    for secret in secrets:
        secret_id, json_key = secret_id_and_key(secret["valueFrom"])
        try:
            value = secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"]
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise SecretPullError(
                "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
                "retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): "
                f"failed to fetch secret {secret_id} from secrets manager: {error.get('Code')}: {error.get('Message')}"
            ) from None
        if json_key:
            value = str(json.loads(value)[json_key])
        values[secret["name"]] = value
    return values


def exit_code_of(returncode: int) -> int:
    """A process's return code as Docker reports a container's exit code (killed by signal N -> 128 + N)."""
    return 128 - returncode if returncode < 0 else returncode


def _now() -> datetime:
    return datetime.now(tz=UTC)


@dataclass
class ContainerRun:
    """One task's container process and what the agent tracks about it."""

    task_arn: str
    task_id: str
    container_name: str
    #: The image its task definition names: the agent runs the local runner whatever it is, so this records
    #: which image ECS would have pulled (SmallRunnerImage or RunnerImage, dispatcher/images.py).
    image: str
    log_group: str | None
    log_stream: str
    log_path: Path
    stop_timeout: float
    process: subprocess.Popen[bytes] | None = None
    stop_signalled_at: float | None = None
    #: Why ECS stops it (UserInitiated for StopTask, SpotInterruption, ...), kept until STOPPED.
    stop_code: str | None = None
    killed: bool = False
    pending_log_events: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Event = field(default_factory=threading.Event)


class LocalEcsAgent:
    """Watches one moto ECS cluster and runs its tasks. `publish(event)` receives every task state change."""

    def __init__(
        self,
        aws: Any,
        cluster: str,
        *,
        log_dir: Path,
        publish: Callable[[dict[str, Any]], None],
        extra_env: dict[str, str] | None = None,
        unreachable: Sequence[str] = (),
        command: Callable[[], list[str]] = runner_command,
        poll_interval: float = 0.2,
        log_flush_interval: float = 1.0,
        spot_interruption_rate: float = 0.0,
        spot_interruption_after_seconds: float = 1.0,
        seed: int = 14,
    ) -> None:
        self._aws = aws
        self._ecs = aws.client("ecs")
        self._logs = aws.client("logs")
        self._secrets = aws.client("secretsmanager")
        self._cluster = cluster
        self._log_dir = log_dir
        self._publish = publish
        self._extra_env = dict(extra_env or {})
        #: host:port of each URL the tasks' subnets cannot reach (task_network/sitecustomize.py).
        self._unreachable = [urlsplit(url).netloc for url in unreachable]
        self._command = command
        self._poll_interval = poll_interval
        self._log_flush_interval = log_flush_interval
        self._runs: dict[str, ContainerRun] = {}
        self._versions: dict[str, int] = {}
        self._seen: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._task_definitions: dict[str, dict[str, Any]] = {}
        self._log_streams: set[tuple[str, str]] = set()
        self.failures: list[str] = []
        self._metadata = TaskMetadataServer()
        self.spot_interruption_rate = spot_interruption_rate
        self._spot_interruption_after = spot_interruption_after_seconds
        self._rng = random.Random(seed)
        #: The Spot tasks this agent interrupted by itself (`spot_interruption_rate`).
        self.interrupted: list[str] = []

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> LocalEcsAgent:
        self._log_dir.mkdir(parents=True, exist_ok=True)
        self._metadata.start()
        self._thread = threading.Thread(target=self._loop, name="local-ecs-agent", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching and kill every container still running (the stack is going away)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for run in list(self._runs.values()):
            if run.process is not None and run.process.poll() is None:
                self._kill_container(run, signal.SIGKILL)
        for run in list(self._runs.values()):
            run.done.wait(timeout=10)
        self._metadata.stop()

    # -- what tests and the demo may ask ------------------------------------------------------
    def running_tasks(self) -> list[str]:
        return [arn for arn, run in self._runs.items() if not run.done.is_set()]

    def log_path(self, task_arn: str) -> Path | None:
        run = self._runs.get(task_arn)
        return run.log_path if run else None

    def image(self, task_arn: str) -> str | None:
        """The image the task's container would have pulled on Fargate; None before the agent saw the task."""
        run = self._runs.get(task_arn)
        return run.image if run else None

    def pid(self, task_arn: str) -> int | None:
        run = self._runs.get(task_arn)
        return run.process.pid if run and run.process else None

    def kill_container(self, task_arn: str, sig: int = signal.SIGKILL) -> None:
        """Kill a task's container from outside (as the kernel's OOM killer or a crash would)."""
        self._kill_container(self._runs[task_arn], sig)

    def interrupt_spot(self, task_arn: str) -> None:
        """Fargate reclaims the task's Spot capacity: stopCode SpotInterruption, the STOPPING state change
        event, SIGTERM to the container, SIGKILL after its stopTimeout, then STOPPED with that stopCode."""
        run = self._runs[task_arn]
        moto_task = self._moto_task(task_arn)
        if moto_task is not None:
            moto_task.desired_status = "STOPPED"
            moto_task.stopped_reason = SPOT_INTERRUPTION_REASON
        self._begin_stop(run, moto_task, "SpotInterruption")

    def _interrupt_later(self, run: ContainerRun) -> None:
        """Fargate reclaims this Spot task's capacity while it runs (`spot_interruption_rate`)."""

        def interrupt() -> None:
            if not run.done.wait(self._spot_interruption_after) and run.stop_signalled_at is None:
                self.interrupted.append(run.task_arn)
                self.interrupt_spot(run.task_arn)

        threading.Thread(target=interrupt, name=f"spot-{run.task_id[-8:]}", daemon=True).start()

    def backdate(self, task_arn: str, seconds: float) -> None:
        """Make the task look started `seconds` earlier (moto has no clock to move): how a hung run looks."""
        moto_task = self._moto_task(task_arn)
        moto_task.started_at = moto_task.created_at = _now() - timedelta(seconds=seconds)

    def wait_idle(self, timeout: float) -> bool:
        """True once every task seen so far has stopped."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running_tasks() and not self._unseen_tasks():
                return True
            time.sleep(0.1)
        return False

    # -- the loop ------------------------------------------------------------------------------
    def _loop(self) -> None:
        last_flush = 0.0
        while not self._stop.is_set():
            try:
                for task_arn in self._unseen_tasks():
                    self._seen.add(task_arn)
                    threading.Thread(
                        target=self._launch, args=(task_arn,), name=f"task-{task_arn[-8:]}", daemon=True
                    ).start()
                for task_arn in self._unseen_tasks("STOPPED"):
                    # Stopped before it was ever started (StopTask while PROVISIONING): ECS still reports STOPPED.
                    self._seen.add(task_arn)
                    self._mark_stopped(task_arn, None, stop_code="UserInitiated")
                self._watch_stop_requests()
                if time.monotonic() - last_flush >= self._log_flush_interval:
                    self._flush_logs()
                    last_flush = time.monotonic()
            except Exception:
                logger.exception("local ECS agent: polling failed; retrying")
            self._stop.wait(self._poll_interval)
        self._flush_logs()

    def _unseen_tasks(self, desired_status: str = "RUNNING") -> list[str]:
        arns: list[str] = []
        pages = self._ecs.get_paginator("list_tasks").paginate(cluster=self._cluster, desiredStatus=desired_status)
        for page in pages:
            arns.extend(a for a in page.get("taskArns", []) if a not in self._seen)
        return arns

    def _watch_stop_requests(self) -> None:
        for run in list(self._runs.values()):
            if run.done.is_set() or run.process is None:
                continue
            moto_task = self._moto_task(run.task_arn)
            if moto_task is None:
                continue
            if moto_task.desired_status == "STOPPED" and run.stop_signalled_at is None:
                self._begin_stop(run, moto_task, "UserInitiated")
            elif (
                run.stop_signalled_at is not None
                and not run.killed
                and time.monotonic() - run.stop_signalled_at > run.stop_timeout
            ):
                logger.info("local ECS agent: %s outlived its stopTimeout: SIGKILL", run.task_id)
                self._kill_container(run, signal.SIGKILL)

    def _begin_stop(self, run: ContainerRun, moto_task: Any, stop_code: str) -> None:
        """ECS stops a task: STOPPING (moto says DEACTIVATING) with its stopCode until the container exits."""
        if run.stop_signalled_at is not None:
            return
        run.stop_code = stop_code
        run.stop_signalled_at = time.monotonic()
        if moto_task is not None:
            moto_task.last_status = "DEACTIVATING"
            moto_task.stopping_at = _now()
            moto_task.stop_code = stop_code
        self._publish_state(run.task_arn)
        logger.info("local ECS agent: %s on %s: SIGTERM to the container", stop_code, run.task_id)
        self._signal_runner(run, signal.SIGTERM)

    # -- one task ------------------------------------------------------------------------------
    def _launch(self, task_arn: str) -> None:
        try:
            self._run_task(task_arn)
        except Exception as exc:
            logger.exception("local ECS agent: could not run %s", task_arn)
            self.failures.append(f"{task_arn}: {type(exc).__name__}: {exc}")
            self._mark_stopped(task_arn, None, stop_code="TaskFailedToStart", reason=f"{type(exc).__name__}: {exc}")

    def _run_task(self, task_arn: str) -> None:
        task = self._ecs.describe_tasks(cluster=self._cluster, tasks=[task_arn], include=["TAGS"])["tasks"][0]
        moto_task = self._moto_task(task_arn)
        task_definition = self._task_definition(task["taskDefinitionArn"])
        container = container_definition(task_definition)
        options = (container.get("logConfiguration") or {}).get("options", {})
        task_id = task_arn.rsplit("/", 1)[-1]
        run = ContainerRun(
            task_arn=task_arn,
            task_id=task_id,
            container_name=container["name"],
            image=str(container.get("image", "")),
            log_group=options.get("awslogs-group"),
            log_stream=f"{options.get('awslogs-stream-prefix', 'ecs')}/{container['name']}/{task_id}",
            log_path=self._log_dir / f"{task_id}.log",
            stop_timeout=float(container.get("stopTimeout") or DEFAULT_STOP_TIMEOUT_SECONDS),
        )
        self._runs[task_arn] = run
        if moto_task is not None:
            moto_task.created_at = moto_task.__dict__.get("created_at") or _now()
            moto_task.last_status = "PENDING"
            for moto_container in moto_task.containers:
                moto_container.task_arn = task_arn
        if moto_task is not None and moto_task.desired_status == "STOPPED":
            run.done.set()
            self._mark_stopped(task_arn, None, stop_code="UserInitiated", reason=moto_task.stopped_reason)
            return
        try:
            secrets = resolve_secrets(self._secrets, container.get("secrets", []))
        except SecretPullError as exc:
            run.done.set()
            self._mark_stopped(task_arn, None, stop_code="TaskFailedToStart", reason=str(exc))
            return
        env = self._process_environment(container_environment(container, task.get("overrides", {}), secrets))
        metadata = task_metadata(task, task_definition)
        env["ECS_CONTAINER_METADATA_URI_V4"] = self._metadata.register(task_id, metadata)
        cgroup = TaskCgroup(self._log_dir / "cgroups" / task_id, metadata["Limits"].get("Memory"))
        env["RUNNER_CGROUP_ROOT"] = str(cgroup.path)
        run.log_path.parent.mkdir(parents=True, exist_ok=True)
        run.process = subprocess.Popen(
            self._command(),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=str(self._log_dir),
        )
        if moto_task is not None:
            moto_task.last_status = "RUNNING"
            moto_task.started_at = moto_task.pull_started_at = moto_task.pull_stopped_at = _now()
            for moto_container in moto_task.containers:
                moto_container.last_status = "RUNNING"
        self._publish_state(task_arn)
        logger.info("local ECS agent: started %s (pid %s) as image %s", task_id, run.process.pid, run.image)
        if task.get("capacityProviderName") == "FARGATE_SPOT" and self._rng.random() < self.spot_interruption_rate:
            self._interrupt_later(run)
        cgroup.follow(run.process.pid)
        self._relay_output(run)
        returncode = run.process.wait()
        cgroup.stop()
        self._flush_run_logs(run)
        run.done.set()
        self._mark_stopped(task_arn, exit_code_of(returncode), stop_code=run.stop_code)

    def _process_environment(self, container_env: dict[str, str]) -> dict[str, str]:
        env = {k: os.environ[k] for k in HOST_VARIABLES if k in os.environ}
        env.update(aws_environment(self._aws.endpoint_url, self._aws.region))
        env["AWS_EXECUTION_ENV"] = "AWS_ECS_FARGATE"
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(str(REPO_ROOT / p) for p in ("runner", "functions"))
        env.update(self._extra_env)
        env.update(container_env)
        if self._unreachable:
            env["PYTHONPATH"] = os.pathsep.join([str(TASK_NETWORK), env["PYTHONPATH"]])
            env[UNREACHABLE_ENV] = ",".join(self._unreachable)
        return env

    def _relay_output(self, run: ContainerRun) -> None:
        assert run.process is not None and run.process.stdout is not None
        stream: IO[bytes] = run.process.stdout
        with run.log_path.open("ab") as log_file:
            for raw in iter(stream.readline, b""):
                log_file.write(raw)
                log_file.flush()
                message = raw.decode("utf-8", errors="replace").rstrip("\n")
                with run.lock:
                    run.pending_log_events.append({"timestamp": int(time.time() * 1000), "message": message or " "})

    def _signal_runner(self, run: ContainerRun, sig: int) -> None:
        if run.process is not None and run.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                run.process.send_signal(sig)

    def _kill_container(self, run: ContainerRun, sig: int) -> None:
        """Every process of the container: the runner's group and its descendants (the child has its own session)."""
        if run.process is None:
            return
        run.killed = True
        # The runner's own /proc walk (its first entry is the root): children first, the root last.
        below = [pid for pid in reversed(descendants([run.process.pid])) if pid != run.process.pid]
        for pid in [*below, run.process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    # -- moto state ----------------------------------------------------------------------------
    def _moto_task(self, task_arn: str) -> Any:
        from moto.ecs.models import ecs_backends

        backend = ecs_backends[ACCOUNT_ID][self._aws.region]
        for tasks in backend.tasks.values():
            if task_arn in tasks:
                return tasks[task_arn]
        return None

    def _mark_stopped(
        self, task_arn: str, exit_code: int | None, *, stop_code: str | None = None, reason: str | None = None
    ) -> None:
        moto_task = self._moto_task(task_arn)
        if moto_task is not None:
            now = _now()
            user_stopped = moto_task.desired_status == "STOPPED" and moto_task.stopped_reason
            moto_task.stop_code = stop_code or ("UserInitiated" if user_stopped else "EssentialContainerExited")
            moto_task.stopped_reason = reason or moto_task.stopped_reason or ESSENTIAL_CONTAINER_EXITED
            moto_task.stopping_at = moto_task.__dict__.get("stopping_at") or now
            moto_task.execution_stopped_at = now
            moto_task.stopped_at = now
            moto_task.desired_status = "STOPPED"
            moto_task.last_status = "STOPPED"
            for container in moto_task.containers:
                container.last_status = "STOPPED"
                container.exitCode = exit_code
        self._publish_state(task_arn)

    def _publish_state(self, task_arn: str) -> None:
        """Publish the task's current state; `detail.version` grows with every change, as on ECS."""
        self._versions[task_arn] = version = self._versions.get(task_arn, 1) + 1
        task = self._ecs.describe_tasks(cluster=self._cluster, tasks=[task_arn], include=["TAGS"])["tasks"][0]
        event = task_state_change_event(task, account=ACCOUNT_ID, region=self._aws.region, version=version)
        try:
            self._publish(event)
        except Exception:
            logger.exception("local ECS agent: could not publish the %s event of %s", task["lastStatus"], task_arn)

    def _task_definition(self, arn: str) -> dict[str, Any]:
        if arn not in self._task_definitions:
            self._task_definitions[arn] = self._ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        return self._task_definitions[arn]

    # -- logs ----------------------------------------------------------------------------------
    def _flush_logs(self) -> None:
        for run in list(self._runs.values()):
            try:
                self._flush_run_logs(run)
            except Exception:
                logger.exception("local ECS agent: could not ship the logs of %s", run.task_id)

    def _flush_run_logs(self, run: ContainerRun) -> None:
        with run.lock:
            events, run.pending_log_events = run.pending_log_events, []
        if not events or not run.log_group:
            return
        key = (run.log_group, run.log_stream)
        if key not in self._log_streams:
            with contextlib.suppress(self._logs.exceptions.ResourceAlreadyExistsException):
                self._logs.create_log_stream(logGroupName=run.log_group, logStreamName=run.log_stream)
            self._log_streams.add(key)
        for start in range(0, len(events), 5000):
            self._logs.put_log_events(
                logGroupName=run.log_group, logStreamName=run.log_stream, logEvents=events[start : start + 5000]
            )
