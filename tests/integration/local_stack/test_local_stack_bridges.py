"""The local stack's bridges over moto, each on its own: CloudFormation from a SAM template, the SQS
event-source mapping, and the ECS agent running a container process (a tiny stand-in command here;
the e2e tests run the real runner)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from local_stack.agent import LocalEcsAgent
from local_stack.cfn import deploy
from local_stack.lambdas import LocalFunction, read_functions
from local_stack.moto_server import LocalAws, MotoServer
from local_stack.poller import MappingConfig, SqsPoller
from tests.support.aws_harness import awsvpc_network
from tests.support.waiting import wait_until

MINI_TEMPLATE = Path(__file__).parent / "mini_template.yaml"


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    server = MotoServer().start()
    try:
        yield server.aws()
    finally:
        server.stop()


def test_deploy_creates_the_sam_template_in_moto_and_resolves_function_environment(aws: LocalAws) -> None:
    # GIVEN a SAM template with functions, an SQS event source, a skipped Secret and list parameters
    subnet, group = awsvpc_network(aws.client("ec2"), "10.9.0.0/16")
    token_arn = aws.client("secretsmanager").create_secret(Name="bridge/token", SecretString="t")["ARN"]

    # WHEN it is translated and created through moto's CloudFormation
    stack = deploy(
        aws,
        MINI_TEMPLATE,
        {
            "DataHubGmsUrl": "http://127.0.0.1:1/gms",
            "ExistingDataHubAccessTokenSecretArn": token_arn,
            "SubnetIds": subnet,
            "SecurityGroupIds": group,
            "NotInTheTemplate": "ignored",
        },
        stack_name="bridge-test",
    )

    # THEN the resources exist, each function's environment is resolved, and the mappings are known
    assert stack.logical_ids_of_type("AWS::Lambda::Function") == ["DispatcherFunction", "ReconcilerFunction"]
    assert stack.event_source_queues() == {
        "DispatcherFunction": "CommandQueue",
        "ReconcilerFunction": "StoppedTaskQueue",
    }
    functions = read_functions(aws, {"DispatcherFunction": stack.physical_id("DispatcherFunction")})
    env = functions["DispatcherFunction"].environment
    assert functions["DispatcherFunction"].handler == "dispatcher.handler.lambda_handler"
    assert env["DATAHUB_GMS_TOKEN_SECRET_ARN"] == token_arn
    assert env["ECS_CLUSTER"] == stack.physical_id("Cluster")
    assert env["SUBNET_IDS"] == subnet
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "DataHubRemoteExecutor"
    # AND the command queue's MaximumConcurrency reaches the local pollers (the dispatchers sharing RunTaskRate)
    mappings = aws.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    scaling = [
        m.get("ScalingConfig")
        for m in mappings
        if m["EventSourceArn"].endswith(stack.physical_id("CommandQueue").rsplit("/", 1)[-1])
    ]
    assert [int(s["MaximumConcurrency"]) for s in scaling] == [5]
    # AND a function whose LoggingConfig names no group logs where Lambda would put it
    assert stack.function_log_groups() == {}
    assert functions["DispatcherFunction"].log_group == f"/aws/lambda/{functions['DispatcherFunction'].name}"


def test_function_output_reaches_its_log_group_one_stream_per_environment(aws: LocalAws) -> None:
    # GIVEN a function whose handler prints a log line and an EMF record (as powertools does)
    function = LocalFunction(
        logical_id="Printer",
        name="bridge-printer",
        arn="arn:aws:lambda:us-east-1:123456789012:function:bridge-printer",
        handler="tests.integration.local_stack.printing_handler.handler",
        environment={},
        runtime_environment={"AWS_DEFAULT_REGION": aws.region},
        log_group="/custom/bridge-printer",
        logs=aws.client("logs"),
    )

    # WHEN it is invoked
    try:
        assert function.invoke({"say": "hello"}) == {"said": "hello"}
    finally:
        function.stop()

    # THEN both lines are in its group, in a stream named as Lambda names an environment's
    def events() -> list[dict[str, Any]]:
        return aws.client("logs").filter_log_events(logGroupName="/custom/bridge-printer")["events"]

    found = wait_until(lambda: len(events()) == 2 and events(), 10, "both lines in the log group")
    assert [json.loads(e["message"]).get("message") for e in found] == ["hello", None]
    assert "CloudWatchMetrics" in json.loads(found[1]["message"])["_aws"]
    assert {e["logStreamName"][10:20] for e in found} == {"/[$LATEST]"}


def test_an_sns_target_gets_the_transformed_event_and_a_missing_topic_fails_no_put_events(aws: LocalAws) -> None:
    # GIVEN a rule with a quoted-string input transformer to a topic a queue subscribes to, and a rule to no topic
    sns, events = aws.client("sns"), aws.client("events")
    topic = sns.create_topic(Name="bridge-alerts")["TopicArn"]
    inbox, inbox_arn = _queue(aws, "bridge-alert-inbox")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    pattern = json.dumps({"source": ["bridge.test"]})
    events.put_rule(Name="bridge-to-sns", EventPattern=pattern)
    transformer = {"InputPathsMap": {"why": "$.detail.why"}, "InputTemplate": '"It FAILED: <why>."'}
    events.put_targets(Rule="bridge-to-sns", Targets=[{"Id": "t", "Arn": topic, "InputTransformer": transformer}])
    events.put_rule(Name="bridge-to-nowhere", EventPattern=pattern)
    missing = topic.replace("bridge-alerts", "bridge-no-such-topic")
    events.put_targets(Rule="bridge-to-nowhere", Targets=[{"Id": "t", "Arn": missing}])

    # WHEN an event whose value holds a quote and a line break is put
    why = 'secret "X" is\nmissing'
    entry = {"Source": "bridge.test", "DetailType": "t", "Detail": json.dumps({"why": why})}
    answer = events.put_events(Entries=[entry])

    # THEN the put succeeded and the topic's subscriber got the template's string with the value inside it
    assert answer["FailedEntryCount"] == 0
    messages = aws.client("sqs").receive_message(QueueUrl=inbox, WaitTimeSeconds=1)["Messages"]
    (notification,) = [json.loads(m["Body"]) for m in messages]
    assert notification["TopicArn"] == topic
    assert json.loads(notification["Message"]) == f"It FAILED: {why}."


def _queue(aws: LocalAws, name: str) -> tuple[str, str]:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _bodies_left(aws: LocalAws, url: str) -> list[str]:
    response = aws.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    return sorted(m["Body"] for m in response.get("Messages", []))


def test_poller_deletes_all_but_the_reported_failures(aws: LocalAws) -> None:
    url, arn = _queue(aws, "poller-partial")
    sqs = aws.client("sqs")
    for body in ("ok-1", "fail-me", "ok-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    seen: list[dict[str, Any]] = []

    def function(event: dict[str, Any]) -> dict[str, Any]:
        seen.extend(event["Records"])
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "fail-me"
            ]
        }

    poller = SqsPoller(sqs, MappingConfig(url, arn, aws.region, visibility_timeout_seconds=1), function, "test")

    assert poller.poll_once() == 3
    assert {r["eventSourceARN"] for r in seen} == {arn}
    assert all(r["attributes"]["ApproximateReceiveCount"] == "1" for r in seen)
    time.sleep(1.2)
    assert _bodies_left(aws, url) == ["fail-me"]


def test_poller_keeps_the_whole_batch_when_the_function_raises(aws: LocalAws) -> None:
    url, arn = _queue(aws, "poller-raises")
    aws.client("sqs").send_message(QueueUrl=url, MessageBody="boom")

    def function(event: dict[str, Any]) -> None:
        raise RuntimeError("the handler crashed")

    poller = SqsPoller(
        aws.client("sqs"), MappingConfig(url, arn, aws.region, visibility_timeout_seconds=1), function, "t"
    )

    assert poller.poll_once() == 1
    assert poller.errors == 1
    time.sleep(1.2)
    assert _bodies_left(aws, url) == ["boom"]


CONTAINER_SCRIPT = (
    "import json, os, signal, sys, time, urllib.request\n"
    "signal.signal(signal.SIGTERM, lambda *_: sys.exit(42))\n"
    "print('secret length', len(os.environ['DB_PASSWORD']), 'mode', os.environ['MODE'], flush=True)\n"
    "meta = json.load(urllib.request.urlopen(os.environ['ECS_CONTAINER_METADATA_URI_V4'] + '/task'))\n"
    "print('metadata', meta['TaskARN'], meta['Limits'], flush=True)\n"
    "time.sleep(60 if os.environ['MODE'] == 'wait' else 0)\n"
    "sys.exit(3)\n"
)


@pytest.fixture
def ecs_agent(aws: LocalAws, tmp_path: Path) -> Iterator[tuple[LocalEcsAgent, list[dict[str, Any]], dict[str, Any]]]:
    """An agent on a fresh cluster whose task definition has one secret and a `MODE` variable."""
    subnet, group = awsvpc_network(aws.client("ec2"), "10.9.0.0/16")
    ecs = aws.client("ecs")
    cluster = ecs.create_cluster(clusterName=f"agent-{tmp_path.name}")["cluster"]["clusterName"]
    secret_arn = aws.client("secretsmanager").create_secret(
        Name=f"agent/{tmp_path.name}", SecretString="canary-password-4711"
    )["ARN"]
    logs = aws.client("logs")
    logs.create_log_group(logGroupName=f"/agent/{tmp_path.name}")
    definition = ecs.register_task_definition(
        family="agent-test",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "runner",
                "image": "local/test",
                "memory": 512,
                "essential": True,
                "stopTimeout": 5,
                "environment": [{"name": "MODE", "value": "exit"}],
                "secrets": [{"name": "DB_PASSWORD", "valueFrom": secret_arn}],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": f"/agent/{tmp_path.name}", "awslogs-stream-prefix": "runs"},
                },
            }
        ],
    )["taskDefinition"]
    events: list[dict[str, Any]] = []
    agent = LocalEcsAgent(
        aws,
        cluster,
        log_dir=tmp_path / "tasks",
        publish=events.append,
        command=lambda: [sys.executable, "-c", CONTAINER_SCRIPT],
    ).start()
    context = {
        "cluster": cluster,
        "definition": definition,
        "subnet": subnet,
        "group": group,
        "secret_arn": secret_arn,
        "log_group": f"/agent/{tmp_path.name}",
    }
    try:
        yield agent, events, context
    finally:
        agent.stop()


def _run_task(aws: LocalAws, context: dict[str, Any], mode: str) -> str:
    response = aws.client("ecs").run_task(
        cluster=context["cluster"],
        taskDefinition=context["definition"]["taskDefinitionArn"],
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": [context["subnet"]], "securityGroups": [context["group"]]}
        },
        overrides={"containerOverrides": [{"name": "runner", "environment": [{"name": "MODE", "value": mode}]}]},
    )
    return str(response["tasks"][0]["taskArn"])


def _container_output(agent: LocalEcsAgent, task_arn: str) -> str:
    path = agent.log_path(task_arn)
    return path.read_text() if path is not None and path.exists() else ""


def _stopped_event(events: list[dict[str, Any]], task_arn: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in events:
            if event["detail"]["taskArn"] == task_arn and event["detail"]["lastStatus"] == "STOPPED":
                return event
        time.sleep(0.1)
    raise AssertionError(f"no STOPPED event for {task_arn}: {json.dumps(events)[:2000]}")


def test_agent_runs_the_container_with_its_secret_and_reports_its_exit(aws: LocalAws, ecs_agent: Any) -> None:
    agent, events, context = ecs_agent

    task_arn = _run_task(aws, context, mode="exit")
    event = _stopped_event(events, task_arn)

    # THEN the container ran with the override and the secret's value injected, and exited 3
    detail = event["detail"]
    assert detail["containers"][0]["exitCode"] == 3
    assert detail["stopCode"] == "EssentialContainerExited"
    assert [e["detail"]["lastStatus"] for e in events if e["detail"]["taskArn"] == task_arn] == ["RUNNING", "STOPPED"]
    assert detail["version"] > next(e for e in events if e["detail"]["taskArn"] == task_arn)["detail"]["version"]
    output = agent.log_path(task_arn).read_text()
    assert "secret length 20 mode exit" in output
    # AND the task metadata endpoint told the container its ARN and limits, as on Fargate
    assert f"metadata {task_arn} {{'CPU': 0.25, 'Memory': 512}}" in output
    # AND moto's ECS shows the same, and the output reached CloudWatch Logs under prefix/container/task-id
    described = aws.client("ecs").describe_tasks(cluster=context["cluster"], tasks=[task_arn])["tasks"][0]
    assert described["lastStatus"] == "STOPPED" and described["containers"][0]["exitCode"] == 3
    stream = f"runs/runner/{task_arn.rsplit('/', 1)[-1]}"
    log_events = aws.client("logs").get_log_events(logGroupName=context["log_group"], logStreamName=stream)["events"]
    assert any("secret length 20" in e["message"] for e in log_events)


def test_agent_sends_sigterm_on_stop_task_and_keeps_the_reason(aws: LocalAws, ecs_agent: Any) -> None:
    agent, events, context = ecs_agent
    task_arn = _run_task(aws, context, mode="wait")
    wait_until(lambda: "secret length" in _container_output(agent, task_arn), 20, "the container to start")

    aws.client("ecs").stop_task(
        cluster=context["cluster"], task=task_arn, reason="Cancelled in DataHub by urn:li:corpuser:x"
    )
    detail = _stopped_event(events, task_arn)["detail"]

    assert detail["containers"][0]["exitCode"] == 42  # the container's own SIGTERM handler ran
    assert detail["stopCode"] == "UserInitiated"
    assert detail["stoppedReason"] == "Cancelled in DataHub by urn:li:corpuser:x"


def test_agent_spot_interruption_sigterms_and_stops_with_spot_interruption(aws: LocalAws, ecs_agent: Any) -> None:
    """GIVEN a running task WHEN Fargate reclaims its Spot capacity THEN STOPPING, SIGTERM, STOPPED, all with
    stopCode SpotInterruption, as Fargate reports it."""
    agent, events, context = ecs_agent
    task_arn = _run_task(aws, context, mode="wait")
    wait_until(lambda: "secret length" in _container_output(agent, task_arn), 20, "the container to start")

    agent.interrupt_spot(task_arn)
    detail = _stopped_event(events, task_arn)["detail"]

    assert detail["containers"][0]["exitCode"] == 42  # the container's own SIGTERM handler ran
    assert detail["stopCode"] == "SpotInterruption"
    assert detail["stoppedReason"] == "Your Spot Task was interrupted."
    states = [
        (e["detail"]["lastStatus"], e["detail"].get("stopCode")) for e in events if e["detail"]["taskArn"] == task_arn
    ]
    assert states[1:] == [("DEACTIVATING", "SpotInterruption"), ("STOPPED", "SpotInterruption")]


def test_agent_backdated_task_reports_the_earlier_start(aws: LocalAws, ecs_agent: Any) -> None:
    agent, _events, context = ecs_agent
    task_arn = _run_task(aws, context, mode="wait")
    wait_until(lambda: "secret length" in _container_output(agent, task_arn), 20, "the container to start")

    agent.backdate(task_arn, 3 * 86400)

    described = aws.client("ecs").describe_tasks(cluster=context["cluster"], tasks=[task_arn])["tasks"][0]
    assert (datetime.now(UTC) - described["startedAt"]).total_seconds() > 3 * 86400 - 60


def test_agent_fails_a_task_whose_secret_cannot_be_read_as_ecs_does(aws: LocalAws, ecs_agent: Any) -> None:
    _agent, events, context = ecs_agent
    aws.client("secretsmanager").delete_secret(SecretId=context["secret_arn"], ForceDeleteWithoutRecovery=True)

    task_arn = _run_task(aws, context, mode="exit")
    detail = _stopped_event(events, task_arn)["detail"]

    assert detail["stopCode"] == "TaskFailedToStart"
    assert detail["stoppedReason"].startswith("ResourceInitializationError: unable to pull secrets")
    assert "exitCode" not in detail["containers"][0]
