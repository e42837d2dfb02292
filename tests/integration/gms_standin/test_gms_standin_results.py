"""The execution result round trip, through our GmsClient and through DataHub's own DataHubGraph."""

from __future__ import annotations

import json
import threading

import pytest
import requests
from executor_common.gms import GmsClient
from executor_common.results import ExecutionRequestResult, StructuredExecutionReport
from executor_common.status import ExecutionStatus

from local_stack.gms_standin import GmsStandIn


def _result(status: ExecutionStatus, **kwargs: object) -> ExecutionRequestResult:
    return ExecutionRequestResult(status=status, startTimeMs=1_764_140_000_000, **kwargs)


def test_gms_client_write_then_read_returns_the_same_result(
    gms_standin: GmsStandIn, gms_client: GmsClient, execution_urn: str
) -> None:
    written = _result(
        ExecutionStatus.SUCCESS,
        report="line 1\nline 2",
        durationMs=1234,
        structuredReport=StructuredExecutionReport(type="CLI_INGEST", serializedValue=json.dumps({"ok": True})),
    )

    gms_client.write_result(execution_urn, written)

    assert gms_client.read_result(execution_urn) == written
    assert gms_standin.result(execution_urn) == written.to_aspect_dict()
    (call,) = gms_standin.requests_to("/aspects", action="ingestProposal")
    assert call["headers"]["X-RestLi-Protocol-Version"] == "2.0.0"
    assert call["authenticated"] is True
    assert gms_standin.token not in json.dumps(gms_standin.requests), "the credential must not be recorded"


def test_gms_client_read_of_unknown_urn_returns_none(gms_client: GmsClient, execution_urn: str) -> None:
    assert gms_client.read_result(execution_urn) is None


def test_standin_history_keeps_every_write_in_order(
    gms_standin: GmsStandIn, gms_client: GmsClient, execution_urn: str
) -> None:
    gms_client.write_result(execution_urn, _result(ExecutionStatus.RUNNING))
    gms_client.write_result(execution_urn, _result(ExecutionStatus.RUNNING, report="progress"))
    gms_client.write_result(execution_urn, _result(ExecutionStatus.FAILURE, report="boom"))

    assert gms_standin.statuses(execution_urn) == ["RUNNING", "RUNNING", "FAILURE"]
    assert gms_standin.history(execution_urn)[1]["report"] == "progress"
    assert gms_standin.result(execution_urn)["status"] == "FAILURE"


def test_datahub_graph_get_aspect_reads_what_gms_client_wrote(
    gms_standin: GmsStandIn, gms_client: GmsClient, execution_urn: str
) -> None:
    from datahub.ingestion.graph.client import DatahubClientConfig, DataHubGraph
    from datahub.metadata.schema_classes import ExecutionRequestResultClass

    gms_client.write_result(execution_urn, _result(ExecutionStatus.CANCELLED, report="stopped", durationMs=5))
    graph = DataHubGraph(DatahubClientConfig(server=gms_standin.url, token=gms_standin.token))

    aspect = graph.get_aspect(execution_urn, ExecutionRequestResultClass)

    assert isinstance(aspect, ExecutionRequestResultClass)
    assert (aspect.status, aspect.report, aspect.durationMs) == ("CANCELLED", "stopped", 5)
    assert graph.get_aspect(execution_urn + "-missing", ExecutionRequestResultClass) is None


def test_datahub_emitter_write_is_readable_by_gms_client(
    gms_standin: GmsStandIn, gms_client: GmsClient, execution_urn: str
) -> None:
    from datahub.emitter.mcp import MetadataChangeProposalWrapper
    from datahub.emitter.rest_emitter import DatahubRestEmitter
    from datahub.metadata.schema_classes import ExecutionRequestResultClass

    emitter = DatahubRestEmitter(gms_standin.url, token=gms_standin.token)
    emitter.emit_mcp(
        MetadataChangeProposalWrapper(
            entityUrn=execution_urn, aspect=ExecutionRequestResultClass(status="SUCCESS", durationMs=42)
        )
    )

    read = gms_client.read_result(execution_urn)
    assert read is not None
    assert (read.status, read.durationMs) == (ExecutionStatus.SUCCESS, 42)


def test_get_aspect_with_older_version_returns_that_version(
    gms_standin: GmsStandIn, gms_client: GmsClient, execution_urn: str
) -> None:
    gms_client.write_result(execution_urn, _result(ExecutionStatus.RUNNING))
    gms_client.write_result(execution_urn, _result(ExecutionStatus.SUCCESS))
    url = f"{gms_standin.url}/aspects/{requests.utils.quote(execution_urn, safe='')}"
    headers = {"Authorization": f"Bearer {gms_standin.token}"}

    oldest = requests.get(url, params={"aspect": "dataHubExecutionRequestResult", "version": 1}, headers=headers)
    latest = requests.get(url, params={"aspect": "dataHubExecutionRequestResult", "version": 0}, headers=headers)

    record = "com.linkedin.execution.ExecutionRequestResult"
    assert oldest.json()["aspect"][record]["status"] == "RUNNING"
    assert latest.json() == {"aspect": {record: gms_standin.result(execution_urn)}, "version": 0}


def test_seed_result_is_what_clients_read(gms_standin: GmsStandIn, gms_client: GmsClient, execution_urn: str) -> None:
    gms_standin.seed_result(execution_urn, {"status": "SUCCESS", "report": "done earlier"})

    read = gms_client.read_result(execution_urn)

    assert read is not None and read.report == "done earlier"


def test_seed_result_refuses_an_invalid_aspect(gms_standin: GmsStandIn, execution_urn: str) -> None:
    with pytest.raises(ValueError, match="status"):
        gms_standin.seed_result(execution_urn, {"report": "no status"})


def test_wait_for_status_returns_once_a_writer_reaches_it(
    gms_standin: GmsStandIn, gms_client: GmsClient, execution_urn: str
) -> None:
    writer = threading.Timer(0.2, gms_client.write_result, (execution_urn, _result(ExecutionStatus.SUCCESS)))
    writer.start()

    result = gms_standin.wait_for_status(execution_urn, {"SUCCESS", "FAILURE"}, timeout=10)

    writer.join()
    assert result["status"] == "SUCCESS"


def test_wait_for_status_times_out_naming_the_last_status(
    gms_standin: GmsStandIn, gms_client: GmsClient, execution_urn: str
) -> None:
    gms_client.write_result(execution_urn, _result(ExecutionStatus.RUNNING))

    with pytest.raises(TimeoutError, match="RUNNING"):
        gms_standin.wait_for_status(execution_urn, "SUCCESS", timeout=0.3)


def test_datahub_emit_mce_is_stored_as_its_aspects(gms_standin: GmsStandIn) -> None:
    from datahub.emitter.rest_emitter import DatahubRestEmitter
    from datahub.metadata.schema_classes import (
        DatasetPropertiesClass,
        DatasetSnapshotClass,
        MetadataChangeEventClass,
        StatusClass,
    )

    dataset = "urn:li:dataset:(urn:li:dataPlatform:sqlite,main.mce,PROD)"
    snapshot = DatasetSnapshotClass(
        urn=dataset, aspects=[DatasetPropertiesClass(name="mce", description="via MCE"), StatusClass(removed=False)]
    )

    DatahubRestEmitter(gms_standin.url, token=gms_standin.token).emit_mce(
        MetadataChangeEventClass(proposedSnapshot=snapshot)
    )

    assert gms_standin.aspect(dataset, "datasetProperties")["description"] == "via MCE"
    assert gms_standin.aspect(dataset, "status") == {"removed": False}


def test_datahub_graph_reads_whole_entities_through_entities_v2(
    gms_standin: GmsStandIn, gms_client: GmsClient, execution_urn: str
) -> None:
    from datahub.ingestion.graph.client import DatahubClientConfig, DataHubGraph
    from datahub.metadata.schema_classes import ExecutionRequestResultClass

    gms_client.write_result(execution_urn, _result(ExecutionStatus.SUCCESS, durationMs=9))
    graph = DataHubGraph(DatahubClientConfig(server=gms_standin.url, token=gms_standin.token))

    bag = graph.get_entity_semityped(execution_urn)
    unknown = graph.get_entity_semityped(execution_urn + "-unknown")

    assert isinstance(bag["dataHubExecutionRequestResult"], ExecutionRequestResultClass)
    assert bag["dataHubExecutionRequestResult"].durationMs == 9
    assert unknown == {}
