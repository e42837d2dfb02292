"""The UI's "Test Connection", end to end: the change event GMS emits for CreateTestConnectionRequestResolver's
request (executorId "default") -> the forwarder's `claim_test_connections_for` -> queue -> dispatcher -> runner
-> the stand-in, read back with DataHub's own DataHubGraph as the modal's answer.

The recipe is the one the UI form writes: secrets as `${NAME}`, here stored in DataHub's own secret store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from datahub_actions.pipeline.pipeline_context import PipelineContext
from e2e_support import TERMINAL, tasks_of
from executor_forwarder.action import SqsExecutorForwarderAction

from tests.unit.forwarder.mcl_events import ui_test_connection_envelope

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

DB_SECRET = "TC_SHOP_DB_PATH"


@pytest.fixture(scope="module")
def ui_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    """The local stack with a SQLite source whose path only DataHub's secret store holds."""
    from local_stack.commands import create_sqlite_db
    from local_stack.stack import LocalStack

    base = tmp_path_factory.mktemp("ui-test-connection")
    database = create_sqlite_db(base / "source" / "shop.db")
    with LocalStack(state_dir=base / "stack", log_level="ERROR", datahub_secrets={DB_SECRET: str(database)}) as stack:
        yield stack, database


@pytest.fixture
def forwarder(ui_stack: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch) -> SqsExecutorForwarderAction:
    """The forwarder as a user configures it to run UI test connections here: claim executor 'default'."""
    from local_stack.moto_server import FAKE_CREDENTIALS
    from local_stack.stack import STACK_NAME

    stack, _ = ui_stack
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return SqsExecutorForwarderAction.create(
        {
            "stack_name": STACK_NAME,
            "aws_region": stack.aws.region,
            "aws_endpoint_url": stack.aws.endpoint_url,
            "executor_ids": ["remote"],
            "claim_test_connections_for": ["default"],
        },
        PipelineContext("forwarder-ui-test-connection", None),
    )


def _modal_answer(stack: Any, urn: str) -> tuple[str, dict[str, Any]]:
    """What the UI's modal reads: the result aspect, through DataHub's own client; (status, TestConnectionReport)."""
    from datahub.ingestion.graph.client import DatahubClientConfig, DataHubGraph
    from datahub.metadata.schema_classes import ExecutionRequestResultClass

    stack.gms.wait_for_status(urn, TERMINAL, timeout=240)  # else TimeoutError naming the last status
    with DataHubGraph(DatahubClientConfig(server=stack.gms.url, token=stack.gms.token)) as graph:
        result = graph.get_aspect(urn, ExecutionRequestResultClass)
    assert result is not None
    assert result.structuredReport is not None, result.report
    assert result.structuredReport.type == "TEST_CONNECTION"
    return result.status, json.loads(result.structuredReport.serializedValue)


def test_ui_test_connection_claimed_by_the_forwarder_tests_the_source_from_this_stack(
    ui_stack: tuple[Any, Path], forwarder: SqsExecutorForwarderAction
) -> None:
    from datahub.ingestion.api.source import TestConnectionReport

    from local_stack.commands import sqlite_recipe

    stack, database = ui_stack
    # GIVEN the UI's Test Connection for a SQLite source whose path is a secret in DataHub's store
    execution_id = "ui-tc-ok"
    urn = f"urn:li:dataHubExecutionRequest:{execution_id}"
    recipe = json.dumps(sqlite_recipe("${" + DB_SECRET + "}", pipeline_name="ui-tc-shop"))

    # WHEN GMS's change event for it (executorId "default") reaches the forwarder
    assert forwarder.act(ui_test_connection_envelope(execution_id, recipe=recipe)) is True

    # THEN this stack ran it (a task of ours) and the modal gets SUCCESS with a real connectivity report
    status, serialized = _modal_answer(stack, urn)
    assert status == "SUCCESS"
    report = TestConnectionReport(**serialized)
    assert report.internal_failure is not True
    assert serialized["basic_connectivity"]["capable"] is True  # a dict: the report class keeps it as given
    assert len(tasks_of(stack, urn)) == 1
    # AND the secret's value (the database path) is in no status, no request DataHub received, no task override
    assert str(database) not in json.dumps(stack.gms.history(urn))
    assert str(database) not in json.dumps([r["body"] for r in stack.gms.requests])
    assert str(database) not in json.dumps([t.get("overrides") for t in tasks_of(stack, urn)])


def test_ui_test_connection_that_cannot_run_shows_its_reason_in_the_modal(
    ui_stack: tuple[Any, Path], forwarder: SqsExecutorForwarderAction
) -> None:
    from datahub.ingestion.api.source import TestConnectionReport

    from local_stack.commands import sqlite_recipe

    stack, _ = ui_stack
    # GIVEN the UI's Test Connection for a recipe whose password is in neither secret store
    execution_id = "ui-tc-refused"
    urn = f"urn:li:dataHubExecutionRequest:{execution_id}"
    recipe = sqlite_recipe("${" + DB_SECRET + "}", pipeline_name="ui-tc-refused")
    recipe["source"]["config"]["options"] = {"connect_args": {"timeout": "${TC_NOBODY_CREATED_THIS}"}}

    assert forwarder.act(ui_test_connection_envelope(execution_id, recipe=json.dumps(recipe))) is True

    # THEN the modal gets what DataHub's own executor writes: SUCCESS, internal_failure and the reason
    status, serialized = _modal_answer(stack, urn)
    assert status == "SUCCESS"
    report = TestConnectionReport(**serialized)
    assert report.internal_failure is True
    reason = report.internal_failure_reason or ""
    assert "${TC_NOBODY_CREATED_THIS}" in reason
    assert "Secrets Manager" in reason and "DataHub's secret store" in reason
