"""The forwarder action against moto SQS: what lands on the command queue, and what does not."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import boto3
import pytest
from datahub_actions.action.action_registry import action_registry
from executor_common.contract import RunCommand, SignalCommand, parse_command
from executor_forwarder.action import SqsExecutorForwarderAction
from executor_forwarder.sqs_sender import SendFailed

from tests.integration.forwarder.forwarder_aws import PLUGIN_NAME, REGION, inject_sqs_failures, queued_messages
from tests.unit.forwarder.mcl_events import (
    CANARY_PASSWORD,
    aspect_json,
    execution_input,
    input_envelope,
    mcl_envelope,
    signal_envelope,
)

#: The fixtures (moto account, command queue, action factory) live beside this file.
pytest_plugins = ["tests.integration.forwarder.forwarder_aws_fixtures"]

MakeAction = Callable[..., SqsExecutorForwarderAction]


def test_plugin_name_resolves_through_the_entry_point() -> None:
    assert action_registry.get(PLUGIN_NAME) is SqsExecutorForwarderAction


def test_forwarder_run_request_is_queued_as_the_message_contract(make_forwarder: MakeAction, fwd_queue: str) -> None:
    # GIVEN the forwarder for executor "remote"
    action = make_forwarder()

    # WHEN GMS's change event for an "Execute" on a source with executor id "remote" arrives
    acknowledged = action.act(input_envelope("run-0001", "remote"))

    # THEN exactly one message is on the queue: the aspect, unchanged, in the contract's envelope
    assert acknowledged is True
    [message] = queued_messages(fwd_queue)
    assert json.loads(message["Body"]) == {
        "entityUrn": "urn:li:dataHubExecutionRequest:run-0001",
        "aspectName": "dataHubExecutionRequestInput",
        "aspect": json.loads(aspect_json(execution_input("remote"))),
    }
    command = parse_command(message["Body"])
    assert isinstance(command, RunCommand) and command.execution_id == "run-0001"
    assert {name: value["StringValue"] for name, value in message["MessageAttributes"].items()} == {
        "executorId": "remote",
        "aspectName": "dataHubExecutionRequestInput",
    }
    # AND its ingestion source is its fair-queue tenant (SQS fair queues: one source's burst cannot starve others)
    assert message["Attributes"]["MessageGroupId"] == command.aspect.source.ingestionSource


def test_forwarder_cancel_is_queued_as_a_signal(make_forwarder: MakeAction, fwd_queue: str) -> None:
    make_forwarder().act(signal_envelope("run-0001", "remote"))

    [message] = queued_messages(fwd_queue)
    command = parse_command(message["Body"])
    assert isinstance(command, SignalCommand)
    assert (command.execution_id, command.aspect.signal, command.executor_id) == ("run-0001", "KILL", "remote")
    assert message["Attributes"]["MessageGroupId"] == command.entityUrn  # a cancel is its own tenant


def test_forwarder_request_for_another_executor_is_not_queued(make_forwarder: MakeAction, fwd_queue: str) -> None:
    acknowledged = make_forwarder(executor_ids=["remote"]).act(input_envelope(executor_id="default"))

    assert acknowledged is True  # acknowledged: the built-in executor (or another forwarder) owns it
    assert queued_messages(fwd_queue) == []


def test_forwarder_serves_several_executor_ids(make_forwarder: MakeAction, fwd_queue: str) -> None:
    action = make_forwarder(executor_ids=["remote-eu", "remote-us"])

    for execution_id, executor_id in [("a", "remote-eu"), ("b", "remote-us"), ("c", "remote")]:
        action.act(input_envelope(execution_id, executor_id))

    urns = sorted(json.loads(m["Body"])["entityUrn"] for m in queued_messages(fwd_queue))
    assert urns == ["urn:li:dataHubExecutionRequest:a", "urn:li:dataHubExecutionRequest:b"]


def test_forwarder_unparsable_event_is_skipped_and_the_next_one_still_goes(
    make_forwarder: MakeAction, fwd_queue: str
) -> None:
    action = make_forwarder()
    broken = mcl_envelope("urn:li:dataHubExecutionRequest:bad", "dataHubExecutionRequestInput", b"{not json")

    assert action.act(broken) is True
    assert action.act(input_envelope("good")) is True

    [message] = queued_messages(fwd_queue)
    assert json.loads(message["Body"])["entityUrn"] == "urn:li:dataHubExecutionRequest:good"
    # (no `datahub:` connection here, so whose the broken request is cannot be looked up: only logged)
    assert action.counts == {"skipped_undecodable": 1, "forwarded": 1}


def test_forwarder_sqs_throttled_then_recovering_queues_once(make_forwarder: MakeAction, fwd_queue: str) -> None:
    # GIVEN SQS throttles the first two sends
    action = make_forwarder()
    calls = inject_sqs_failures(action.sender.client, 2)

    # WHEN
    acknowledged = action.act(input_envelope("run-throttled"))

    # THEN the third attempt lands, once
    assert acknowledged is True
    assert calls[0] == 3
    assert len(queued_messages(fwd_queue)) == 1


def test_forwarder_sqs_down_for_good_raises_so_the_event_is_not_acknowledged(
    make_forwarder: MakeAction, fwd_queue: str
) -> None:
    action = make_forwarder()
    calls = inject_sqs_failures(action.sender.client, 100, status=503, code="ServiceUnavailable")

    with pytest.raises(SendFailed) as raised:
        action.act(input_envelope("run-lost"))

    assert calls[0] == 3 and raised.value.code == "ServiceUnavailable"
    assert queued_messages(fwd_queue) == []
    assert action.counts["failed"] == 1


def test_forwarder_queue_url_from_stack_outputs(fwd_aws: None) -> None:
    # GIVEN a deployed stack whose CommandQueueUrl output names the queue
    template = {
        "Resources": {"CommandQueue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"CommandQueueUrl": {"Value": {"Ref": "CommandQueue"}}},
    }
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(StackName="datahub-executor", TemplateBody=json.dumps(template))
    queue_url = boto3.client("sqs", region_name=REGION).list_queues()["QueueUrls"][0]

    # WHEN the action config names the stack instead of the URL
    action = action_registry.get(PLUGIN_NAME).create({"stack_name": "datahub-executor", "aws_region": REGION}, None)
    action.act(input_envelope())

    # THEN it sends to that queue
    assert action.sender.queue_url == queue_url
    assert len(queued_messages(queue_url)) == 1


def test_forwarder_unknown_stack_fails_at_start(fwd_aws: None) -> None:
    with pytest.raises(ValueError, match="no-such-stack"):
        action_registry.get(PLUGIN_NAME).create({"stack_name": "no-such-stack", "aws_region": REGION}, None)


def test_forwarder_logs_never_contain_the_recipe(
    make_forwarder: MakeAction, fwd_queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN recipes holding a credential, forwarded, refused and failing
    caplog.set_level(logging.DEBUG)
    action = make_forwarder()
    invalid = json.loads(aspect_json(execution_input()))
    invalid["task"] = "NOT_A_TASK"

    action.act(input_envelope("ok"))
    action.act(mcl_envelope("urn:li:dataHubExecutionRequest:bad", "dataHubExecutionRequestInput", json.dumps(invalid)))
    inject_sqs_failures(action.sender.client, 100, status=500, code="InternalError")
    with pytest.raises(SendFailed) as raised:
        action.act(input_envelope("failing"))
    action.close()

    # THEN the logs and the exception name the runs, never the credential
    assert "urn:li:dataHubExecutionRequest:ok" in caplog.text
    assert "urn:li:dataHubExecutionRequest:bad" in caplog.text
    assert CANARY_PASSWORD not in caplog.text
    assert CANARY_PASSWORD not in str(raised.value)
    assert CANARY_PASSWORD in queued_messages(fwd_queue)[0]["Body"]  # the runner needs the recipe as is
