"""DataHub's own client (`DataHubGraph`), secrets client and executor code against the stand-in: a difference
between the stand-in and GMS shows up here, not in a user's deployment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.ingestion.graph.client import DatahubClientConfig, DataHubGraph
from datahub.metadata.schema_classes import DatasetPropertiesClass, ExecutionRequestResultClass

from local_stack.gms_standin import GmsStandIn

DATASET = "urn:li:dataset:(urn:li:dataPlatform:sqlite,shop.orders,PROD)"
SECRETS = {"PG_PASSWORD": "canary-pg-9f2e", "SNOWFLAKE_KEY": "canary-sf-77ab"}


@pytest.fixture
def standin() -> Iterator[GmsStandIn]:
    with GmsStandIn(secrets=SECRETS) as started:
        yield started


def _graph(standin: GmsStandIn, token: str | None) -> DataHubGraph:
    return DataHubGraph(DatahubClientConfig(server=standin.url, token=token, retry_max_times=0))


def test_datahub_graph_emit_then_get_aspect_returns_what_was_written(standin: GmsStandIn) -> None:
    graph = _graph(standin, standin.token)
    properties = DatasetPropertiesClass(name="orders", description="one row per order")

    graph.emit_mcp(MetadataChangeProposalWrapper(entityUrn=DATASET, aspect=properties))

    assert graph.get_aspect(DATASET, DatasetPropertiesClass) == properties


def test_datahub_executor_proposals_by_key_aspect_land_on_the_derived_urn(standin: GmsStandIn) -> None:
    """DataHub's ReportingExecutor names the execution request only by its key aspect; GMS derives the urn.

    GIVEN DataHub's own executor, reporting to the stand-in WHEN it executes a request (for a task it does not
    have: it still reports the start and the end) and a cancel of an unknown one THEN every status it sent is
    stored on `urn:li:dataHubExecutionRequest:<id>` and reads back through DataHubGraph."""
    from datahub.executor.execution.reporting_executor import ReportingExecutor, ReportingExecutorConfig
    from datahub.executor.request.execution_request import ExecutionRequest
    from datahub.executor.request.signal_request import SignalRequest

    graph = _graph(standin, standin.token)
    executor = ReportingExecutor(
        ReportingExecutorConfig(id="default", task_configs=[], secret_stores=[], graph_client=graph)
    )

    executor.execute(ExecutionRequest(exec_id="exec-by-key", name="RUN_INGEST", args={}))
    executor.signal(SignalRequest(exec_id="never-ran", signal="KILL"))

    ran = "urn:li:dataHubExecutionRequest:exec-by-key"
    assert standin.statuses(ran)[0] == "RUNNING" and len(standin.statuses(ran)) == 2
    assert graph.get_aspect(ran, ExecutionRequestResultClass) == ExecutionRequestResultClass.from_obj(
        standin.result(ran)
    )
    assert standin.statuses("urn:li:dataHubExecutionRequest:never-ran") == ["CANCELLED"]
    assert not any(r["body"] and "entityUrn" in r["body"].get("proposal", {}) for r in standin.requests_to("/aspects"))


def test_datahub_graph_with_wrong_token_connects_but_every_write_is_401(standin: GmsStandIn) -> None:
    graph = _graph(standin, "not-the-token")  # its connection test reads /config, which GMS serves to anyone

    with pytest.raises(Exception, match="401"):
        graph.emit_mcp(MetadataChangeProposalWrapper(entityUrn=DATASET, aspect=DatasetPropertiesClass(name="x")))
    assert standin.proposals == 0


def test_datahub_graph_with_a_token_lacking_privileges_is_refused_403(standin: GmsStandIn) -> None:
    graph = _graph(standin, standin.unprivileged_token)

    with pytest.raises(Exception, match="403"):
        graph.emit_mcp(MetadataChangeProposalWrapper(entityUrn=DATASET, aspect=DatasetPropertiesClass(name="x")))
    with pytest.raises(Exception, match="403"):
        graph.get_aspect(DATASET, DatasetPropertiesClass)
    assert standin.proposals == 0


def test_datahub_secrets_client_gets_the_values_of_known_secrets_only(standin: GmsStandIn) -> None:
    from datahub.secret.datahub_secrets_client import DataHubSecretsClient

    values = DataHubSecretsClient(_graph(standin, standin.token)).get_secret_values(
        ["PG_PASSWORD", "SNOWFLAKE_KEY", "NOT_STORED"]
    )

    assert values == SECRETS  # a name GMS does not hold is omitted, as GetSecretValuesResolver omits it


def test_datahub_secrets_client_without_privilege_gets_graphql_authorization_error(standin: GmsStandIn) -> None:
    from datahub.secret.datahub_secrets_client import DataHubSecretsClient

    with pytest.raises(Exception, match="Unauthorized to perform this action") as raised:
        DataHubSecretsClient(_graph(standin, standin.unprivileged_token)).get_secret_values(["PG_PASSWORD"])
    assert SECRETS["PG_PASSWORD"] not in str(raised.value)


def test_get_secret_values_inline_query_answers_like_gms_and_needs_the_token(standin: GmsStandIn) -> None:
    query = '{ getSecretValues(input: {secrets: ["PG_PASSWORD"]}) { name value } }'
    url = f"{standin.url}/api/graphql"

    answer = requests.post(url, json={"query": query}, headers={"Authorization": f"Bearer {standin.token}"}, timeout=5)
    refused = requests.post(url, json={"query": query}, timeout=5)

    assert answer.json() == {"data": {"getSecretValues": [{"name": "PG_PASSWORD", "value": SECRETS["PG_PASSWORD"]}]}}
    assert refused.status_code == 401 and SECRETS["PG_PASSWORD"] not in refused.text
    assert SECRETS["PG_PASSWORD"] not in str(standin.requests)
