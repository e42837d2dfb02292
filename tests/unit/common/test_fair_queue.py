"""Fair-queue tenants (issue 14 item 1): every command-queue message carries its ingestion source as MessageGroupId."""

from __future__ import annotations

import json

import pytest
from executor_common.fair_queue import MESSAGE_GROUP_ID_MAX, group_id_for, message_group_id, tenant_of

from local_stack.aws_fidelity import MESSAGE_GROUP_ID
from tests.conftest import load_event


def _run(source: str | None) -> str:
    body = json.loads(load_event("run_ingest.json")["Records"][0]["body"])
    body["aspect"]["source"]["ingestionSource"] = source
    return json.dumps(body)


def test_run_of_a_source_is_grouped_by_the_source() -> None:
    source = "urn:li:dataHubIngestionSource:nightly-snowflake"
    assert tenant_of(_run(source)) == source
    assert message_group_id(_run(source)) == source


def test_run_without_a_source_and_a_cancel_are_their_own_tenant() -> None:
    run = json.loads(_run(None))
    assert message_group_id(json.dumps(run)) == run["entityUrn"]
    cancel = load_event("cancel.json")["Records"][0]["body"]
    assert message_group_id(cancel) == json.loads(cancel)["entityUrn"]


def test_unreadable_body_has_no_group_and_a_broken_run_keeps_its_urn() -> None:
    assert message_group_id("not json") is None
    assert message_group_id('{"entityUrn": "urn:li:dataHubExecutionRequest:x", "aspect": 5}') == (
        "urn:li:dataHubExecutionRequest:x"
    )


@pytest.mark.parametrize(
    "tenant",
    ["urn:li:dataHubIngestionSource:" + "x" * 200, "urn:li:dataHubIngestionSource:my source", "urn:é", "a\nb"],
)
def test_unfit_tenant_becomes_a_valid_distinct_group(tenant: str) -> None:
    group = group_id_for(tenant)
    assert MESSAGE_GROUP_ID.fullmatch(group) and len(group) <= MESSAGE_GROUP_ID_MAX
    assert group != group_id_for(tenant + "y")
    assert group_id_for(tenant) == group  # stable: one source, one tenant
