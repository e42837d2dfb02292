"""Proposals are validated with DataHub's own schema classes: what GMS would refuse gets a 422."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from local_stack.gms_standin import GmsStandIn

URN = "urn:li:dataHubExecutionRequest:validation-1"


def _proposal(value: Any, **overrides: Any) -> dict[str, Any]:
    proposal = {
        "entityType": "dataHubExecutionRequest",
        "entityUrn": URN,
        "changeType": "UPSERT",
        "aspectName": "dataHubExecutionRequestResult",
        "aspect": {"value": value if isinstance(value, str) else json.dumps(value), "contentType": "application/json"},
    }
    proposal.update(overrides)
    return proposal


def _post(standin: GmsStandIn, action: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{standin.url}/aspects?action={action}",
        data=json.dumps(body),
        headers={"Authorization": f"Bearer {standin.token}", "X-RestLi-Protocol-Version": "2.0.0"},
        timeout=5,
    )


def test_ingest_proposal_valid_answers_the_urn(gms_standin: GmsStandIn) -> None:
    response = _post(gms_standin, "ingestProposal", {"proposal": _proposal({"status": "RUNNING"}), "async": "false"})

    assert response.status_code == 200
    assert response.json() == {"value": URN}
    assert gms_standin.result(URN) == {"status": "RUNNING"}


@pytest.mark.parametrize(
    ("proposal", "expected_message"),
    [
        pytest.param(_proposal({"report": "no status"}), "status", id="required-field-missing"),
        pytest.param(_proposal({"status": 7}), "wrong type", id="wrong-type"),
        pytest.param(_proposal({"status": "SUCCESS", "colour": "red"}), "colour", id="unknown-field"),
        pytest.param(_proposal({"status": "SUCCESS"}, aspectName="noSuchAspect"), "noSuchAspect", id="unknown-aspect"),
        pytest.param(_proposal("{not json"), "not valid JSON", id="value-not-json"),
        pytest.param(_proposal({"status": "SUCCESS"}, changeType="SMASH"), "changeType", id="bad-change-type"),
        pytest.param(_proposal({"status": "SUCCESS"}, entityType="dataset"), "does not match", id="type-vs-urn"),
        pytest.param(_proposal({"status": "SUCCESS"}, entityUrn="not-an-urn"), "Malformed urn", id="bad-urn"),
        pytest.param({"entityUrn": URN}, "entityType", id="entity-type-missing"),
        pytest.param(
            _proposal({"status": "SUCCESS"}, aspect={"value": {"status": "SUCCESS"}}), "aspect", id="value-not-string"
        ),
    ],
)
def test_ingest_proposal_invalid_answers_422_and_stores_nothing(
    gms_standin: GmsStandIn, proposal: dict[str, Any], expected_message: str
) -> None:
    response = _post(gms_standin, "ingestProposal", {"proposal": proposal, "async": "false"})

    assert response.status_code == 422
    assert expected_message in response.json()["message"]
    assert gms_standin.result(URN) is None
    assert gms_standin.proposals == 0


def test_ingest_proposal_batch_stores_every_proposal(gms_standin: GmsStandIn) -> None:
    other = "urn:li:dataHubExecutionRequest:validation-2"
    proposals = [
        _proposal({"status": "RUNNING"}),
        _proposal({"status": "SUCCESS", "durationMs": 3}),
        _proposal({"status": "FAILURE"}, entityUrn=other),
    ]

    response = _post(gms_standin, "ingestProposalBatch", {"proposals": proposals, "async": "true"})

    assert response.status_code == 200
    assert response.json() == {"value": [URN, URN, other]}
    assert gms_standin.statuses(URN) == ["RUNNING", "SUCCESS"]
    assert gms_standin.result(other) == {"status": "FAILURE"}
    assert gms_standin.proposals == 3


def test_ingest_proposal_batch_with_one_invalid_stores_none(gms_standin: GmsStandIn) -> None:
    proposals = [_proposal({"status": "RUNNING"}), _proposal({"durationMs": 3})]

    response = _post(gms_standin, "ingestProposalBatch", {"proposals": proposals, "async": "true"})

    assert response.status_code == 422
    assert response.json()["message"].startswith("proposals[1]:")
    assert gms_standin.result(URN) is None


def test_patch_proposal_is_recorded_without_changing_the_aspect(gms_standin: GmsStandIn) -> None:
    dataset = "urn:li:dataset:(urn:li:dataPlatform:sqlite,main.t,PROD)"
    patch = [{"op": "add", "path": "/customProperties/owner", "value": "me"}]
    proposal = {
        "entityType": "dataset",
        "entityUrn": dataset,
        "changeType": "PATCH",
        "aspectName": "datasetProperties",
        "aspect": {"value": json.dumps(patch), "contentType": "application/json-patch+json"},
    }

    response = _post(gms_standin, "ingestProposal", {"proposal": proposal})

    assert response.status_code == 200
    assert gms_standin.store.patches(dataset, "datasetProperties") == [patch]
    assert gms_standin.aspect(dataset, "datasetProperties") is None


def test_proposal_naming_a_dataset_by_its_key_aspect_gets_gms_tuple_urn() -> None:
    """GMS derives `urn:li:<type>:(<f1>,<f2>,...)` from a multi-field key aspect, `urn:li:<type>:<f>` from one."""
    from local_stack.gms_store import urn_from_key_aspect

    key = {"platform": "urn:li:dataPlatform:sqlite", "name": "shop.orders", "origin": "PROD"}
    envelope = {"value": json.dumps(key), "contentType": "application/json"}

    assert urn_from_key_aspect("dataset", envelope) == "urn:li:dataset:(urn:li:dataPlatform:sqlite,shop.orders,PROD)"
    one = {"value": '{"id": "abc"}', "contentType": "application/json"}
    assert urn_from_key_aspect("dataHubExecutionRequest", one) == "urn:li:dataHubExecutionRequest:abc"
