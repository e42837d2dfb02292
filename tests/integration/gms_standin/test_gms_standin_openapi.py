"""OpenAPI v3 entity routes: DataHub's emitter in OpenAPI mode writes through them, plugins look things up."""

from __future__ import annotations

import requests
from executor_common.gms import GmsClient

from local_stack.gms_standin import GmsStandIn


def test_openapi_emitter_write_is_readable_by_gms_client(
    gms_standin: GmsStandIn, gms_client: GmsClient, execution_urn: str
) -> None:
    from datahub.emitter.mcp import MetadataChangeProposalWrapper
    from datahub.emitter.rest_emitter import DatahubRestEmitter
    from datahub.metadata.schema_classes import ExecutionRequestResultClass

    emitter = DatahubRestEmitter(gms_standin.url, token=gms_standin.token, openapi_ingestion=True)
    emitter.emit_mcp(
        MetadataChangeProposalWrapper(entityUrn=execution_urn, aspect=ExecutionRequestResultClass(status="ABORTED"))
    )

    assert gms_standin.requests_to("/openapi/v3/entity/dataHubExecutionRequest")
    read = gms_client.read_result(execution_urn)
    assert read is not None and read.status == "ABORTED"


def test_openapi_write_of_an_invalid_aspect_answers_422(gms_standin: GmsStandIn, execution_urn: str) -> None:
    response = requests.post(
        f"{gms_standin.url}/openapi/v3/entity/dataHubExecutionRequest?async=false",
        json=[{"urn": execution_urn, "dataHubExecutionRequestResult": {"value": {"report": "no status"}}}],
        headers={"Authorization": f"Bearer {gms_standin.token}"},
        timeout=5,
    )

    assert response.status_code == 422
    assert gms_standin.result(execution_urn) is None


def test_openapi_filtered_scroll_answers_an_empty_page(gms_standin: GmsStandIn) -> None:
    response = requests.get(
        f"{gms_standin.url}/openapi/v3/entity/platformresource",
        params={"query": 'platform.keyword:"urn:li:dataPlatform:looker"', "count": "1000"},
        headers={"Authorization": f"Bearer {gms_standin.token}"},
        timeout=5,
    )

    assert response.status_code == 200
    assert response.json() == {"entities": [], "scrollId": None}
