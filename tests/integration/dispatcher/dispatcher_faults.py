"""Requests through the dispatcher and the reconciler under injected AWS and GMS faults, with SQS redelivery.

Shared by test_dispatcher_faults.py (50 requests, in the suite) and bench/bench_faults.py (1,000).
Real behaviour wherever it is cheap: moto in-process (made to answer like AWS by
local_stack.aws_fidelity, RunTask clientToken included), moto's SQS with the template's redrive
policy (maxReceiveCount 5 -> DLQ) delivering batches of 10 to the real handlers the way the Lambda
event source does (local_stack.event_shapes), and the GMS stand-in over HTTP.

Faults, drawn per call from a seeded RNG, before the call reaches moto or GMS, or after it took
effect (the response is lost):
- AWS (ECS, Secrets Manager, S3): ThrottlingException, RunTask capacity failures (`failures[]`),
  AccessDeniedException, and lost responses (ReadTimeoutError after the call succeeded);
- GMS: HTTP 5xx, timeouts, and lost responses (the write happened, the client saw a timeout).

After the dispatcher's queue drains, every task the dispatcher started stops (its runner died
without a word, the worst case) and its STOPPED event goes through the reconciler's queue the same way.
The ledger then says, per request: tasks started, DataHub's final status, whether it is in a DLQ.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
CLUSTER = "datahub-executor-RunnerCluster"
BUCKET = f"datahub-executor-runs-{ACCOUNT_ID}"
LOG_GROUP = "/datahub-executor/runner"
PREFIX = "datahub-executor/"
URN_PREFIX = "urn:li:dataHubExecutionRequest:"
MAX_RECEIVE_COUNT = 5  # template.yaml CommandQueue RedrivePolicy
RECONCILER_MAX_RECEIVE_COUNT = 20  # template.yaml ReconcilerQueue RedrivePolicy
TERMINAL = {"SUCCESS", "FAILURE", "CANCELLED", "ABORTED", "TIMED_OUT"}
PG_RECIPE = {"source": {"type": "postgres", "config": {"host_port": "db:5432", "password": "${PG_PASSWORD}"}}}
SQLITE_RECIPE = {"source": {"type": "sqlalchemy", "config": {"platform": "sqlite", "connect_uri": "sqlite:////x"}}}
#: RunTask's failures[].reason when Fargate has no capacity (a retryable failure).
CAPACITY_REASON = "Capacity is unavailable at this time. Please try again later or in a different availability zone"
LOST_RESPONSE = "faults:lost-response"
FAULTED_AWS_CALLS = {"ecs": ("RunTask", "RegisterTaskDefinition", "ListTasks"), "secretsmanager": None, "s3": None}


@dataclass(frozen=True)
class FaultRates:
    """Probability per call. The defaults are a bad day, not an outage: most deliveries still succeed."""

    throttling: float = 0.05
    capacity: float = 0.03  # RunTask only
    access_denied: float = 0.003
    aws_lost_response: float = 0.03
    gms_5xx: float = 0.05
    gms_timeout: float = 0.02
    gms_lost_response: float = 0.02


@dataclass
class Injector:
    rates: FaultRates
    rng: random.Random
    injected: Counter[str] = field(default_factory=Counter)
    enabled: bool = True

    def _draw(self, *kinds: tuple[str, float]) -> str | None:
        if not self.enabled:
            return None
        roll, edge = self.rng.random(), 0.0
        for kind, rate in kinds:
            edge += rate
            if roll < edge:
                self.injected[kind] += 1
                return kind
        return None

    # -- AWS, through botocore's hooks (the mechanism its Stubber uses) ---------------------------
    def install_aws(self, client: Any) -> None:
        from botocore.awsrequest import AWSResponse
        from botocore.exceptions import ReadTimeoutError

        service = client.meta.service_model.service_name
        operations = FAULTED_AWS_CALLS[service]

        def before(model: Any, context: Any = None, **_: Any) -> Any:
            if operations is not None and model.name not in operations:
                return None
            kinds = [("throttling", self.rates.throttling), ("access_denied", self.rates.access_denied)]
            if model.name == "RunTask":
                kinds.append(("capacity", self.rates.capacity))
            kinds.append(("aws_lost_response", self.rates.aws_lost_response))
            kind = self._draw(*kinds)
            if kind == "aws_lost_response":
                context[LOST_RESPONSE] = True  # the request context travels to after-call
                return None
            if kind == "capacity":
                failure = {
                    "arn": f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:cluster/{CLUSTER}",
                    "reason": CAPACITY_REASON,
                }
                return AWSResponse("https://ecs.invalid/", 200, {}, None), {"tasks": [], "failures": [failure]}
            if kind is None:
                return None
            code = "ThrottlingException" if kind == "throttling" else "AccessDeniedException"
            status = 400
            parsed = {
                "Error": {"Code": code, "Message": f"injected {code}"},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }
            return AWSResponse("https://aws.invalid/", status, {}, None), parsed

        def after(model: Any, context: Any = None, **_: Any) -> None:
            if context and context.pop(LOST_RESPONSE, False):
                raise ReadTimeoutError(endpoint_url=f"https://{service}.{REGION}.amazonaws.com/")

        client.meta.events.register_first(f"before-call.{service}.*", before)
        client.meta.events.register(f"after-call.{service}.*", after)

    # -- GMS, around the client's session (below it: what GMS or the network did) -----------------
    def install_gms(self, gms_client: Any) -> None:
        import requests

        session = gms_client._session
        real_request = session.request

        def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            kind = self._draw(
                ("gms_5xx", self.rates.gms_5xx),
                ("gms_timeout", self.rates.gms_timeout),
                ("gms_lost_response", self.rates.gms_lost_response),
            )
            if kind == "gms_5xx":
                response = requests.Response()
                response.status_code, response._content, response.url = 503, b"injected: 503", url
                return response
            if kind == "gms_timeout":
                raise requests.exceptions.ReadTimeout("injected: read timed out")
            response = real_request(method, url, *args, **kwargs)
            if kind == "gms_lost_response":
                raise requests.exceptions.ReadTimeout("injected: the response was lost")
            return response

        session.request = request


@dataclass
class Ledger:
    requests: list[str]
    tasks_per_run: dict[str, int]
    status: dict[str, str | None]
    in_dlq: set[str]
    receives: Counter[str]
    injected: Counter[str]
    reconciler_dlq: int
    deliveries: int

    def lost(self) -> list[str]:
        """No task, no FAILURE/terminal status in DataHub, not in the DLQ: nobody knows of it."""
        return [
            u
            for u in self.requests
            if not self.tasks_per_run.get(u) and self.status[u] not in TERMINAL and u not in self.in_dlq
        ]

    def duplicated(self) -> list[str]:
        return [u for u in self.requests if self.tasks_per_run.get(u, 0) > 1]

    def stuck(self) -> list[str]:
        """Not terminal in DataHub once every task has stopped and every event was handled."""
        return [u for u in self.requests if self.status[u] not in TERMINAL and u not in self.in_dlq]

    def dlq_not_failed(self) -> list[str]:
        return [u for u in self.in_dlq if self.status[u] != "FAILURE"]

    def dlq_unexplained(self) -> list[str]:
        """DLQ entries that are not "every one of maxReceiveCount deliveries hit a transient fault, nothing
        started, DataHub shows no status". Those explained stay Pending in DataHub today, behind the DLQ
        alarm: writing FAILURE on the last attempt is issue 14 item 4 ("retries that end")."""
        return [
            u
            for u in self.in_dlq
            if self.receives[u] != MAX_RECEIVE_COUNT or self.tasks_per_run.get(u) or self.status[u] is not None
        ]


def _sqs_queue(sqs: Any, name: str, max_receive: int) -> tuple[str, str]:
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "0",  # a failed record is visible again at once: simulated time
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)}),
        },
    )["QueueUrl"]
    return queue, dlq


@dataclass
class SimulatedClock:
    """The time the Lambdas' GMS breaker sees. The queue redelivers at once (VisibilityTimeout 0) to keep
    the run short; this clock puts the visibility timeout back in: a batch takes BATCH_SECONDS, and a
    redelivered record arrives VISIBILITY_TIMEOUT_SECONDS after it failed, as on AWS."""

    now: float = 1_000_000.0

    def __call__(self) -> float:
        return self.now


BATCH_SECONDS = 2.0
VISIBILITY_TIMEOUT_SECONDS = 390.0  # template.yaml CommandQueue


def drain(
    sqs: Any,
    queue_url: str,
    handler: Any,
    context_factory: Any,
    receives: Counter[str],
    clock: SimulatedClock | None = None,
) -> int:
    """Deliver batches of 10 to `handler` as the Lambda event source does until the queue is empty."""
    from local_stack.event_shapes import records_to_delete, sqs_event

    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    deliveries = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            if not _in_flight(sqs, queue_url):
                return deliveries
            time.sleep(0.2)  # a retry's backoff or a waiting run's delay (1 s here): it comes back
            continue
        for message in messages:
            receives[message["Body"]] += 1
        deliveries += len(messages)
        if clock is not None:
            again = any(int(m["Attributes"].get("ApproximateReceiveCount", "1")) > 1 for m in messages)
            clock.now += VISIBILITY_TIMEOUT_SECONDS if again else BATCH_SECONDS
        try:
            response = handler(sqs_event(messages, arn, REGION), context_factory())
        except Exception:  # a crashed invocation: the whole batch comes back
            response = {"batchItemFailures": [{"itemIdentifier": ""}]}
        done = records_to_delete(messages, response)
        if done:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )


def _in_flight(sqs: Any, queue_url: str) -> int:
    """Messages hidden by a retry's visibility or a waiting run's delay: they are not done yet."""
    names = ["ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, "0")) for name in names)


def _dlq_bodies(sqs: Any, dlq_url: str) -> list[str]:
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=600).get(
            "Messages", []
        )
        if not messages:
            return bodies
        bodies += [m["Body"] for m in messages]


def _guard_gms(gms: Any, injector: Injector, clock: SimulatedClock) -> None:
    """Faults under the Lambda's GMS client, the simulated clock in its breaker (older revisions, measured
    for the before figures, had the clock on the guard itself, or no guard in the reconciler)."""
    injector.install_gms(getattr(gms, "_client", gms))
    if hasattr(gms, "breaker"):
        gms.breaker._clock = clock
    elif hasattr(gms, "_clock"):
        gms._clock = clock


def _reset_reconciler(handler: Any) -> None:
    from reconciler.settings import get_settings

    get_settings.cache_clear()
    handler.get_ports.cache_clear()
    if hasattr(handler, "get_queue"):
        handler.get_queue.cache_clear()


def run_body(execution_id: str, recipe: dict[str, Any]) -> str:
    from tests.conftest import load_event

    body = json.loads(load_event("run_ingest.json")["Records"][0]["body"])
    body["entityUrn"] = URN_PREFIX + execution_id
    body["aspect"]["executorId"] = "remote"
    body["aspect"]["args"]["recipe"] = json.dumps(recipe)
    body["aspect"]["args"]["extra_env_vars"] = "{}"
    return json.dumps(body)


@contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_under_faults(count: int, rates: FaultRates = FaultRates(), seed: int = 10) -> Ledger:
    """`count` run requests (every third with a secret, so task-definition resolution is faulted too)."""
    import boto3
    from moto import mock_aws

    from local_stack import aws_fidelity
    from local_stack.event_shapes import task_state_change_event
    from local_stack.gms_standin import GmsStandIn
    from local_stack.network import awsvpc_network
    from tests.support.aws_harness import lambda_context, register_runner_task_definition

    aws_fidelity.install()
    injector = Injector(rates, random.Random(seed))
    base_env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("FAULTS_LOG_LEVEL", "CRITICAL"),
        "POWERTOOLS_METRICS_NAMESPACE": "DataHubRemoteExecutor",
    }
    with GmsStandIn() as gms, _environment(base_env), mock_aws():
        os.environ.pop("AWS_ENDPOINT_URL", None)
        subnet, sg = awsvpc_network(boto3.client("ec2", region_name=REGION))
        ecs = boto3.client("ecs", region_name=REGION)
        ecs.create_cluster(clusterName=CLUSTER)
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        boto3.client("logs", region_name=REGION).create_log_group(logGroupName=LOG_GROUP)
        sm = boto3.client("secretsmanager", region_name=REGION)
        sm.create_secret(Name=PREFIX + "PG_PASSWORD", SecretString="faults-secret")
        base = register_runner_task_definition(
            ecs, "datahub-executor-runner", cpu="1024", memory="4096", image="runner:faults"
        )
        sqs = boto3.client("sqs", region_name=REGION)
        queue, dlq = _sqs_queue(sqs, "datahub-executor-commands", MAX_RECEIVE_COUNT)
        rqueue, rdlq = _sqs_queue(sqs, "datahub-executor-reconciler", RECONCILER_MAX_RECEIVE_COUNT)
        common = {
            "DATAHUB_GMS_URL": gms.url,
            "DATAHUB_GMS_TOKEN": gms.token,
            "EXECUTOR_ID": "remote",
            "ECS_CLUSTER": CLUSTER,
            "LOG_GROUP_NAME": LOG_GROUP,
            "DEFAULT_RUN_TIMEOUT_SECONDS": "86400",
        }
        dispatcher_env = {
            **common,
            "POWERTOOLS_SERVICE_NAME": "dispatcher",
            "TASK_DEFINITION_ARN": base,
            "SUBNET_IDS": subnet,
            "SECURITY_GROUP_IDS": sg,
            "SECRET_NAME_PREFIX": PREFIX,
            "RUN_BUCKET": BUCKET,
            # The retries' backoff and a waiting run's re-check, shortened from minutes to a second.
            "MAX_RECEIVE_COUNT": str(MAX_RECEIVE_COUNT),
            "RETRY_BASE_SECONDS": "1",
            "RETRY_MAX_SECONDS": "1",
            "WAIT_CHECK_SECONDS": "1",
        }
        requests = [URN_PREFIX + f"fault-{i:05d}" for i in range(count)]
        for i, urn in enumerate(requests):
            body = run_body(urn[len(URN_PREFIX) :], PG_RECIPE if i % 3 == 0 else SQLITE_RECIPE)
            sqs.send_message(QueueUrl=queue, MessageBody=body)
        receives: Counter[str] = Counter()

        with _environment(dispatcher_env):
            from dispatcher import handler as dispatcher_handler
            from dispatcher.settings import get_settings

            get_settings.cache_clear()
            dispatcher_handler.dependencies.cache_clear()
            deps = dispatcher_handler.dependencies()
            secrets_adapter = getattr(deps.secrets, "adapter", None) or deps.secrets._adapter
            for client in (deps.ecs.client, deps.s3.client, secrets_adapter.client):
                injector.install_aws(client)
            clock = SimulatedClock()
            _guard_gms(deps.gms, injector, clock)
            deliveries = drain(
                sqs,
                queue,
                dispatcher_handler.lambda_handler,
                lambda: lambda_context("DispatcherFunction", REGION),
                receives,
                clock,
            )
            dispatcher_handler.dependencies.cache_clear()
            get_settings.cache_clear()

        # every task stops: the runner died without writing (the reconciler must give the final word)
        injector.enabled = False
        arns = ecs.list_tasks(cluster=CLUSTER)["taskArns"]
        tasks_per_run: Counter[str] = Counter()
        for start in range(0, len(arns), 100):
            for task in ecs.describe_tasks(cluster=CLUSTER, tasks=arns[start : start + 100])["tasks"]:
                tasks_per_run[URN_PREFIX + task["startedBy"]] += 1
        for arn in arns:
            ecs.stop_task(cluster=CLUSTER, task=arn, reason="Essential container in task exited")
        for start in range(0, len(arns), 100):
            for task in ecs.describe_tasks(cluster=CLUSTER, tasks=arns[start : start + 100])["tasks"]:
                task["lastStatus"] = "STOPPED"
                event = task_state_change_event(task, account=ACCOUNT_ID, region=REGION, version=3)
                sqs.send_message(QueueUrl=rqueue, MessageBody=json.dumps(event))
        injector.enabled = True

        with _environment({**common, "POWERTOOLS_SERVICE_NAME": "reconciler", "REPORT_GRACE_SECONDS": "0"}):
            from reconciler import handler as reconciler_handler

            _reset_reconciler(reconciler_handler)
            _guard_gms(reconciler_handler.get_ports().gms, injector, clock)
            deliveries += drain(
                sqs,
                rqueue,
                reconciler_handler.lambda_handler,
                lambda: lambda_context("ReconcilerFunction", REGION),
                Counter(),
                clock,
            )
            _reset_reconciler(reconciler_handler)

        dlq_urns = {json.loads(b)["entityUrn"] for b in _dlq_bodies(sqs, dlq)}
        status = {urn: (gms.result(urn) or {}).get("status") for urn in requests}
        return Ledger(
            requests=requests,
            tasks_per_run=dict(tasks_per_run),
            status=status,
            in_dlq=dlq_urns,
            receives=Counter({json.loads(b)["entityUrn"]: n for b, n in receives.items()}),
            injected=injector.injected,
            reconciler_dlq=len(_dlq_bodies(sqs, rdlq)),
            deliveries=deliveries,
        )
