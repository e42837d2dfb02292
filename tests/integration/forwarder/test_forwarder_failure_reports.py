"""Requests of ours that cannot go on the queue end FAILURE in DataHub, not Pending (issues 10.15, 11.11).

The forwarder writes the FAILURE through the pipeline's `datahub:` connection (a real DataHubGraph,
here against the GMS stand-in), and only onto requests that are ours: for an event it cannot
decode, GMS's stored copy of the request says whose it is.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.ingestion.graph.client import DatahubClientConfig, DataHubGraph
from datahub_actions.api.action_graph import AcrylDataHubGraph
from datahub_actions.pipeline.pipeline_context import PipelineContext
from executor_forwarder.action import SqsExecutorForwarderAction

from tests.integration.forwarder.forwarder_aws import FAST_RETRY, REGION, queued_messages
from tests.unit.forwarder.mcl_events import CANARY_PASSWORD, execution_input, input_envelope, mcl_envelope, recipe_json

pytest_plugins = ["tests.integration.forwarder.forwarder_aws_fixtures"]

URN = "urn:li:dataHubExecutionRequest:big-0001"
SQS_MAXIMUM_MESSAGE_BYTES = 1_048_576


@pytest.fixture
def graph(gms_standin: Any) -> DataHubGraph:
    return DataHubGraph(DatahubClientConfig(server=gms_standin.url, token=gms_standin.token))


@pytest.fixture
def forwarder(fwd_queue: str, graph: DataHubGraph) -> Callable[..., SqsExecutorForwarderAction]:
    """The action as datahub-actions builds it for a pipeline file with a `datahub:` section."""

    def _make(**config: Any) -> SqsExecutorForwarderAction:
        context = PipelineContext("forwarder-test", AcrylDataHubGraph(graph))
        return SqsExecutorForwarderAction.create(
            {"queue_url": fwd_queue, "aws_region": REGION, "retry": FAST_RETRY, **config}, context
        )

    return _make


def oversized_recipe() -> str:
    """A recipe just over SQS's 1 MiB (a long inline list, as a big allow-list would be)."""
    recipe = json.loads(recipe_json())
    recipe["source"]["config"]["table_pattern"] = {"allow": [f"schema_{i:06d}\\\\..*" for i in range(70_000)]}
    return json.dumps(recipe)


def test_forwarder_oversized_request_of_ours_ends_failure_in_datahub(
    forwarder: Callable[..., SqsExecutorForwarderAction], fwd_queue: str, gms_standin: Any
) -> None:
    # GIVEN an "Execute" for our executor whose message would exceed the queue's 1 MiB
    envelope = input_envelope("big-0001", "remote", recipe=oversized_recipe())

    # WHEN
    acknowledged = forwarder().act(envelope)

    # THEN nothing is queued, and DataHub shows FAILURE saying why, without a word of the recipe
    assert acknowledged is True
    assert queued_messages(fwd_queue) == []
    result = gms_standin.result(URN)
    assert result["status"] == "FAILURE"
    assert f"at most {SQS_MAXIMUM_MESSAGE_BYTES} bytes" in result["report"]
    assert CANARY_PASSWORD not in json.dumps(result)


def test_forwarder_oversized_request_for_another_executor_is_left_alone(
    forwarder: Callable[..., SqsExecutorForwarderAction], gms_standin: Any
) -> None:
    forwarder().act(input_envelope("big-0001", "default", recipe=oversized_recipe()))

    assert gms_standin.result(URN) is None


@pytest.mark.parametrize(("stored_for", "expected"), [("remote", "FAILURE"), ("default", None)])
def test_forwarder_undecodable_event_fails_the_request_only_when_gms_says_it_is_ours(
    forwarder: Callable[..., SqsExecutorForwarderAction],
    fwd_queue: str,
    graph: DataHubGraph,
    gms_standin: Any,
    stored_for: str,
    expected: str | None,
) -> None:
    # GIVEN GMS holds the request (for `stored_for`), and its change event carries an aspect that cannot be read
    graph.emit_mcp(MetadataChangeProposalWrapper(entityUrn=URN, aspect=execution_input(stored_for)))
    broken = mcl_envelope(URN, "dataHubExecutionRequestInput", b'{"task": "RUN_INGEST", "args": {"recipe": "')

    # WHEN
    forwarder().act(broken)

    # THEN FAILURE with the reason when it is ours; another executor's request is never touched
    result = gms_standin.result(URN)
    assert (result or {}).get("status") == expected
    if expected:
        assert "could not be read" in result["report"]
    assert queued_messages(fwd_queue) == []


def test_forwarder_without_datahub_connection_logs_that_the_request_stays_pending(
    make_forwarder: Callable[..., SqsExecutorForwarderAction], caplog: pytest.LogCaptureFixture
) -> None:
    action = make_forwarder()

    with caplog.at_level(logging.ERROR, logger="executor_forwarder"):
        action.act(input_envelope("big-0001", "remote", recipe=oversized_recipe()))

    assert action.counts["failure_unreported"] == 1
    assert f"{URN} stays Pending in DataHub" in caplog.text
    assert CANARY_PASSWORD not in caplog.text


@pytest.fixture
def impatient_graph(gms_standin: Any) -> DataHubGraph:
    """The pipeline's graph without the client's own retries, so an outage reaches the action at once."""
    return DataHubGraph(DatahubClientConfig(server=gms_standin.url, token=gms_standin.token, retry_max_times=0))


@pytest.mark.parametrize("unreachable", ["check", "report"])
def test_forwarder_leaves_the_event_unacknowledged_while_datahub_cannot_be_told(
    fwd_queue: str, impatient_graph: DataHubGraph, gms_standin: Any, unreachable: str
) -> None:
    from executor_forwarder.action import DataHubUnavailable

    # GIVEN a request of ours whose change event cannot be read (so GMS must say whose it is and be told
    # it failed), while GMS answers 503 to the ownership check or to the FAILURE write
    impatient_graph.emit_mcp(MetadataChangeProposalWrapper(entityUrn=URN, aspect=execution_input("remote")))
    broken = mcl_envelope(URN, "dataHubExecutionRequestInput", b'{"task": "RUN_INGEST", "args": {"recipe": "')
    context = PipelineContext("forwarder-test", AcrylDataHubGraph(impatient_graph))
    action = SqsExecutorForwarderAction.create(
        {"queue_url": fwd_queue, "aws_region": REGION, "retry": FAST_RETRY}, context
    )
    path = "/aspects" if unreachable == "check" else "ingestProposal"
    gms_standin.fail_next(1, 503, path_contains=path)

    # WHEN the pipeline hands it over, THEN act() raises, so datahub-actions does not acknowledge it
    with pytest.raises(DataHubUnavailable, match="HTTP 503"):
        action.act(broken)
    assert gms_standin.result(URN) is None
    assert action.counts["failure_unreported"] == 0

    # AND when the pipeline retries once GMS answers again, the request ends FAILURE with the reason
    assert action.act(broken) is True
    result = gms_standin.result(URN)
    assert result is not None and result["status"] == "FAILURE"
    assert "could not be read" in result["report"]
