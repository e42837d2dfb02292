"""The whole local stack, wired: moto + the stack from template.yaml + GMS stand-in + pollers + ECS agent.

`LocalStack().start()` gives a running stack; `.send(command)` puts a command on the queue the
way DataHub (or the forwarder) would; `.stop()` tears it all down. What it serves is written to
`stack.json` (moto endpoint, GMS URL and token, queue URL, cluster, log group, bucket, and each
function's handler and environment) for `make invoke` and other tools.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from local_stack.agent import LocalEcsAgent
from local_stack.aws_fidelity import FargateConditions, set_fargate_conditions
from local_stack.cfn import DeployedStack, deploy
from local_stack.event_shapes import scheduled_event
from local_stack.gms_standin import GmsStandIn
from local_stack.lambdas import LocalFunction, read_functions
from local_stack.moto_server import ACCOUNT_ID, FAKE_CREDENTIALS, LocalAws, MotoServer, aws_environment
from local_stack.network import awsvpc_network
from local_stack.poller import DEFAULT_CONCURRENCY, MappingConfig, SqsPoller
from local_stack.scheduler import Schedule, ScheduleRunner, take_over_schedules

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = REPO_ROOT / "template.yaml"
DEFAULT_STATE_FILE = REPO_ROOT / ".local" / "stack.json"
STACK_NAME = "datahub-executor-local"
TOKEN_SECRET_NAME = "datahub-executor-local/gms-token"
DEFAULT_GMS_TOKEN = "local-gms-token"
#: Sent to every run's `datahub ingest` (RUN_ENV_VARS): the local stack is offline.
RUN_ENV_VARS = "DATAHUB_TELEMETRY_ENABLED=false"
#: Runner tuning for the local machine (what `docker run -e` would add): no pip installs offline.
#: A failed command comes back after this long (the template's 390 s would stall a local run for minutes).
#: Longer than the dispatcher's 15 s GMS circuit breaker, so that the redrive policy's 5 receives
#: still span a real GMS outage (~100 s) before a command lands in the DLQ.
LOCAL_VISIBILITY_TIMEOUT_SECONDS = 20
#: A local runner is a process on this machine, not a container of its own: the machine's cgroup is not the task's,
#: so usage figures (executor_runner.usage) are left out rather than misread.
RUNNER_ENV = {
    "RUNNER_ALLOW_RUNTIME_INSTALLS": "false",
    "RUNNER_PROGRESS_INTERVAL_SECONDS": "2",
    "RUNNER_CGROUP_ROOT": "/nonexistent/local-runner-has-no-cgroup-of-its-own",
}


@dataclass
class StackInfo:
    """What the stack serves; the content of `.local/stack.json`."""

    endpoint_url: str
    region: str
    gms_url: str
    gms_token: str
    gms_page: str
    queue_url: str
    dead_letter_queue_url: str
    cluster: str
    task_definition_arn: str
    log_group: str
    run_bucket: str
    state_dir: str
    pid: int
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The small image's base task definition (parameter SmallRunnerImage), "" without one.
    small_task_definition_arn: str = ""

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, path: Path) -> StackInfo:
        return cls(**json.loads(path.read_text()))


def handler_environment(endpoint_url: str, region: str, log_level: str) -> dict[str, str]:
    """What Lambda's runtime would add to a function's environment, plus the local AWS endpoint."""
    return {
        **aws_environment(endpoint_url, region),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": log_level,
        "POWERTOOLS_DEV": "false",
    }


#: Container-definition fields that ECS types as integers.
_INTEGER_CONTAINER_FIELDS = ("cpu", "memory", "memoryReservation", "stopTimeout", "startTimeout")


def fix_moto_task_definition_numbers(region: str) -> None:
    """moto's CloudFormation keeps a `!Ref`'d number (e.g. `Memory: !Ref TaskMemory`) as a string, and its
    RunTask then fails adding it up (`int += str`); ECS stores integers. Convert them in moto's backend."""
    from moto.ecs.models import ecs_backends

    for revisions in ecs_backends[ACCOUNT_ID][region].task_definitions.values():
        for definition in revisions.values():
            for container in definition.container_definitions:
                for name in _INTEGER_CONTAINER_FIELDS:
                    value = container.get(name)
                    if isinstance(value, str) and value.isdigit():
                        container[name] = int(value)


class LocalStack:
    """Start, use and stop the local stack. moto, the stand-in, pollers and agent run in this process;
    each function and each runner in processes of its own."""

    def __init__(
        self,
        state_dir: Path | None = None,
        *,
        template: Path = TEMPLATE,
        gms_token: str = DEFAULT_GMS_TOKEN,
        state_file: Path | None = None,
        log_level: str = "WARNING",
        visibility_timeout_seconds: int = LOCAL_VISIBILITY_TIMEOUT_SECONDS,
        with_workers: bool = True,
        extra_parameters: dict[str, str] | None = None,
        runner_env: dict[str, str] | None = None,
        datahub_secrets: dict[str, str] | None = None,
        gms_reachable_from_tasks: bool = True,
        on_progress: Callable[[str], None] | None = None,
        fargate: FargateConditions | None = None,
        spot_interruption_rate: float = 0.0,
        quick_ingest_seconds: float | None = None,
        function_environment: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self._own_state_dir = state_dir is None
        self.state_dir = Path(state_dir or tempfile.mkdtemp(prefix="datahub-executor-local-"))
        self._template = template
        self._gms_token = gms_token
        self._state_file = state_file
        self._log_level = log_level
        self._visibility_timeout = visibility_timeout_seconds
        self._with_workers = with_workers
        self._extra_parameters = dict(extra_parameters or {})
        self._runner_env = {**RUNNER_ENV, **(runner_env or {})}
        #: Secrets held in DataHub's own store (Settings -> Secrets), served by the stand-in's `getSecretValues`.
        self._datahub_secrets = dict(datahub_secrets or {})
        #: False: the tasks' subnets have no path to GMS (the Lambdas still reach it), as with a missing route,
        #: peering or egress rule on AWS; the local agent makes the runner's connections to it time out.
        self._gms_reachable_from_tasks = gms_reachable_from_tasks
        self._progress = on_progress or (lambda step: logger.info("local stack: %s", step))
        #: Fargate's room (vCPU quotas, capacity refusals) and the agent's Spot interruptions (local_stack/README.md).
        self._fargate = fargate or FargateConditions()
        self._spot_interruption_rate = spot_interruption_rate
        #: Fast container mode: each task's real runner runs `quick_ingest.py` instead of `datahub ingest`.
        self._quick_ingest_seconds = quick_ingest_seconds
        #: Variables set on a function after the deploy, as an operator would in the Lambda console.
        self._function_environment = {k: dict(v) for k, v in (function_environment or {}).items()}
        self.moto: MotoServer | None = None
        self.aws: LocalAws | None = None
        self.gms: GmsStandIn | None = None
        self.deployed: DeployedStack | None = None
        self.functions: dict[str, LocalFunction] = {}
        self.pollers: list[SqsPoller] = []
        self.agent: LocalEcsAgent | None = None
        self.scheduler: ScheduleRunner | None = None
        self._schedules: list[Schedule] = []
        self.info: StackInfo | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> LocalStack:
        """Start everything; on any failure, stop what already started and re-raise."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> LocalStack:
        started = time.monotonic()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.moto = MotoServer().start()
        self.aws = aws = self.moto.aws()
        self.gms = GmsStandIn(
            token=self._gms_token, state_file=str(self.state_dir / "gms-state.json"), secrets=self._datahub_secrets
        ).start()
        self._progress(f"moto at {aws.endpoint_url}, GMS stand-in at {self.gms.url}")
        token_secret_arn = aws.client("secretsmanager").create_secret(
            Name=TOKEN_SECRET_NAME, SecretString=self._gms_token
        )["ARN"]
        subnet, security_group = self._network()
        parameters = {
            "DataHubBaseUrl": self.gms.url,
            "ExistingDataHubAccessTokenSecretArn": token_secret_arn,
            "DataHubAccessToken": "",
            "SubnetIds": subnet,
            "SecurityGroupIds": security_group,
            "RunnerImage": "local/datahub-executor-runner:latest",
            "SecretArns": "",
            "RunEnvVars": RUN_ENV_VARS,
            **self._extra_parameters,
        }
        self._progress(f"creating {self._template.name} through moto's CloudFormation")
        self.deployed = deploy(aws, self._template, parameters, STACK_NAME)
        set_fargate_conditions(self._fargate)
        self._disable_moto_event_source_mappings()
        fix_moto_task_definition_numbers(aws.region)
        self._schedules = take_over_schedules(aws.client("events"))
        lambda_ids = {
            logical: self.deployed.physical_id(logical)
            for logical in self.deployed.logical_ids_of_type("AWS::Lambda::Function")
        }
        self._set_function_environment(lambda_ids)
        runtime = handler_environment(aws.endpoint_url, aws.region, self._log_level)
        self.functions = read_functions(aws, lambda_ids, runtime, self.deployed.function_log_groups())
        self._progress(f"stack created; starting the functions {', '.join(sorted(self.functions))}")
        with ThreadPoolExecutor(max_workers=len(self.functions) or 1) as pool:
            # Lambda's init phase, each function in its own process, side by side; an init error stops the start.
            for loaded in [pool.submit(f.load) for f in self.functions.values()]:
                loaded.result()
        self.info = self._info()
        if self._with_workers:
            self._start_workers()
        if self._state_file is not None:
            self.info.write(self._state_file)
        logger.info("local stack up in %.1fs", time.monotonic() - started)
        return self

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        for poller in self.pollers:
            poller.stop()
        self.pollers = []
        if self.agent is not None:
            self.agent.stop()
            self.agent = None
        for function in self.functions.values():
            function.stop()  # before moto: their last lines still reach their log groups
        if self.gms is not None:
            self.gms.stop()
        if self.moto is not None:
            self.moto.stop()
            self.moto = None
            set_fargate_conditions(None)
        if self._state_file is not None and self._state_file.exists():
            self._state_file.unlink()
        if self._own_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- use -------------------------------------------------------------------------------
    def send(self, command: dict[str, Any]) -> str:
        """Put one command (an execution-request aspect envelope) on the command queue, with its fair-queue group
        as the forwarder sends it; returns the message id."""
        from executor_common.fair_queue import message_group_id

        assert self.aws is not None and self.info is not None
        body = json.dumps(command)
        group = message_group_id(body)
        request: dict[str, Any] = {"QueueUrl": self.info.queue_url, "MessageBody": body}
        if group:
            request["MessageGroupId"] = group
        response = self.aws.client("sqs").send_message(**request)
        return str(response["MessageId"])

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Invoke one function (in its own execution environment), as `make invoke` does."""
        return self.functions[logical_id].invoke(event)

    @contextlib.contextmanager
    def visibility_timeout(self, seconds: int) -> Iterator[None]:
        """Within the block, a failed command comes back after `seconds` (then the stack's own timeout again)."""
        for poller in self.pollers:
            poller.set_visibility_timeout(seconds)
        try:
            yield
        finally:
            for poller in self.pollers:
                poller.set_visibility_timeout(self._visibility_timeout)

    def tasks(self, desired_status: str = "RUNNING") -> list[str]:
        assert self.aws is not None and self.info is not None
        arns: list[str] = []
        pages = self.aws.client("ecs").get_paginator("list_tasks")
        for page in pages.paginate(cluster=self.info.cluster, desiredStatus=desired_status):
            arns.extend(page["taskArns"])
        return arns

    def describe_tasks(self, arns: list[str]) -> list[dict[str, Any]]:
        assert self.aws is not None and self.info is not None
        described: list[dict[str, Any]] = []
        for start in range(0, len(arns), 100):
            described += self.aws.client("ecs").describe_tasks(
                cluster=self.info.cluster, tasks=arns[start : start + 100], include=["TAGS"]
            )["tasks"]
        return described

    # -- wiring ----------------------------------------------------------------------------
    def _network(self) -> tuple[str, str]:
        """A subnet and a security group for awsvpc tasks (`network.awsvpc_network`)."""
        assert self.aws is not None
        return awsvpc_network(self.aws.client("ec2"), "10.42.0.0/16", name="datahub-executor-local")

    def _disable_moto_event_source_mappings(self) -> None:
        """moto's own SQS mappings would consume the messages without running the handler: the pollers take over."""
        assert self.aws is not None
        client = self.aws.client("lambda")
        for mapping in client.list_event_source_mappings()["EventSourceMappings"]:
            client.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)

    def _start_workers(self) -> None:
        assert self.aws is not None and self.deployed is not None and self.info is not None
        aws = self.aws
        sqs = aws.client("sqs")
        for mapping in aws.client("lambda").list_event_source_mappings()["EventSourceMappings"]:
            function = next((f for f in self.functions.values() if f.is_named_by(mapping["FunctionArn"])), None)
            if function is None or ":sqs:" not in mapping["EventSourceArn"]:
                continue
            config = MappingConfig(
                queue_url=self._queue_url(mapping["EventSourceArn"]),
                queue_arn=mapping["EventSourceArn"],
                region=aws.region,
                batch_size=int(mapping.get("BatchSize") or 10),
                visibility_timeout_seconds=self._visibility_timeout,
                concurrency=self._poller_concurrency(function.name, mapping),
            )
            self.pollers.append(SqsPoller(sqs, config, function.invoke, name=function.logical_id).start())
        events = aws.client("events")

        def publish(event: dict[str, Any]) -> None:
            # EventBridge matches the template's rule and delivers to its SQS target (moto does this for SQS).
            events.put_events(
                Entries=[
                    {
                        "Source": event["source"],
                        "DetailType": event["detail-type"],
                        "Detail": json.dumps(event["detail"]),
                        "Resources": event["resources"],
                    }
                ]
            )

        assert self.gms is not None
        self.agent = LocalEcsAgent(
            aws,
            self.info.cluster,
            log_dir=self.state_dir / "tasks",
            publish=publish,
            extra_env=self._runner_env_for(),
            unreachable=() if self._gms_reachable_from_tasks else (self.gms.url,),
            spot_interruption_rate=self._spot_interruption_rate,
            seed=self._fargate.seed,
        ).start()
        self.scheduler = ScheduleRunner(self._schedules, self._fire_schedule).start()

    def fire_schedules(self) -> dict[str, Any]:
        """Fire every schedule rule now (instead of at its rate); function logical id -> response."""
        return {name: response for schedule in self._schedules for name, response in self._fire_schedule(schedule)}

    def _fire_schedule(self, schedule: Schedule) -> list[tuple[str, Any]]:
        assert self.aws is not None
        event = scheduled_event(schedule.rule_arn, account=ACCOUNT_ID, region=self.aws.region)
        return [
            (function.logical_id, function.invoke(event))
            for function in self.functions.values()
            if function.is_named_by(schedule.function_arn)
        ]

    def _runner_env_for(self) -> dict[str, str]:
        work_dir = self.state_dir / "work"
        work_dir.mkdir(parents=True, exist_ok=True)
        env = {"RUNNER_WORK_DIR": str(work_dir), **self._runner_env}
        if self._quick_ingest_seconds is not None:
            env["RUNNER_DATAHUB_COMMAND"] = str(self._quick_ingest_command(self._quick_ingest_seconds))
        return env

    def _quick_ingest_command(self, seconds: float) -> Path:
        """An executable the runner takes for the `datahub` CLI: `quick_ingest.py`, no site-packages, `seconds` long."""
        command = self.state_dir / "bin" / "quick-datahub"
        command.parent.mkdir(parents=True, exist_ok=True)
        script = REPO_ROOT / "local_stack" / "quick_ingest.py"
        command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -I -S "{script}" --seconds {seconds:g} "$@"\n')
        command.chmod(0o755)
        return command

    def _set_function_environment(self, lambda_ids: dict[str, str]) -> None:
        """Merge `function_environment` into the deployed functions' variables (UpdateFunctionConfiguration)."""
        assert self.aws is not None
        client = self.aws.client("lambda")
        for logical_id, variables in self._function_environment.items():
            name = lambda_ids[logical_id]
            current = (client.get_function_configuration(FunctionName=name).get("Environment") or {}).get("Variables")
            merged = {name: str(value) for name, value in {**(current or {}), **variables}.items()}
            client.update_function_configuration(FunctionName=name, Environment={"Variables": merged})

    def _poller_concurrency(self, function_name: str, mapping: dict[str, Any]) -> int:
        """As many pollers as the mapping's MaximumConcurrency (the dispatchers share RunTaskRate among them),
        and never more than the function's reserved concurrency, as Lambda runs no more at once."""
        assert self.aws is not None
        maximum = int((mapping.get("ScalingConfig") or {}).get("MaximumConcurrency") or DEFAULT_CONCURRENCY)
        reserved = self.aws.client("lambda").get_function_concurrency(FunctionName=function_name)
        limit = int(reserved.get("ReservedConcurrentExecutions") or 0)
        return min(maximum, limit) if limit > 0 else maximum

    def _info(self) -> StackInfo:
        assert self.aws is not None and self.gms is not None and self.deployed is not None
        dispatcher = self._function_with_handler("dispatcher.")
        env = dispatcher.environment if dispatcher else {}
        queue_url = self._queue_url_of(dispatcher)
        dlq_url = self._dead_letter_queue_url(queue_url)
        return StackInfo(
            endpoint_url=self.aws.endpoint_url,
            region=self.aws.region,
            gms_url=self.gms.url,
            gms_token=self._gms_token,
            gms_page=self.gms.page_url,
            queue_url=queue_url,
            dead_letter_queue_url=dlq_url,
            cluster=env.get("ECS_CLUSTER", ""),
            task_definition_arn=env.get("TASK_DEFINITION_ARN", ""),
            small_task_definition_arn=env.get("SMALL_TASK_DEFINITION_ARN", ""),
            log_group=env.get("LOG_GROUP_NAME", ""),
            run_bucket=env.get("RUN_BUCKET", ""),
            state_dir=str(self.state_dir),
            pid=os.getpid(),
            functions={
                f.logical_id: {
                    "name": f.name,
                    "handler": f.handler,
                    "environment": f.environment,
                    "log_group": f.log_group,
                }
                for f in self.functions.values()
            },
        )

    def _function_with_handler(self, prefix: str) -> LocalFunction | None:
        return next((f for f in self.functions.values() if f.handler.startswith(prefix)), None)

    def _queue_url_of(self, function: LocalFunction | None) -> str:
        """The queue the function's event-source mapping reads (the command queue for the dispatcher)."""
        assert self.aws is not None
        if function is None:
            return ""
        for mapping in self.aws.client("lambda").list_event_source_mappings(FunctionName=function.name)[
            "EventSourceMappings"
        ]:
            return self._queue_url(mapping["EventSourceArn"])
        return ""

    def _dead_letter_queue_url(self, queue_url: str) -> str:
        assert self.aws is not None
        if not queue_url:
            return ""
        sqs = self.aws.client("sqs")
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]
        policy = json.loads(attributes.get("RedrivePolicy") or "{}")
        target = policy.get("deadLetterTargetArn")
        return self._queue_url(target) if target else ""

    def _queue_url(self, queue_arn: str) -> str:
        assert self.aws is not None
        return str(self.aws.client("sqs").get_queue_url(QueueName=queue_arn.rsplit(":", 1)[-1])["QueueUrl"])


__all__ = ["FAKE_CREDENTIALS", "LocalStack", "StackInfo"]
