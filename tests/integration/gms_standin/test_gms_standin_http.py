"""The stand-in answers like GMS: auth, /config, /health, the /gms prefix, rest.li error shapes."""

from __future__ import annotations

import json

import pytest
import requests

from local_stack.gms_standin import GmsStandIn


def test_standin_without_token_answers_401_with_the_servlet_error_page(gms_standin: GmsStandIn) -> None:
    response = requests.get(f"{gms_standin.url}/entitiesV2/urn:li:corpuser:datahub", timeout=5)

    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("text/html")
    assert "HTTP ERROR 401 Unauthorized to perform this action." in response.text


def test_standin_config_and_health_need_no_token_as_in_gms(gms_standin: GmsStandIn) -> None:
    wrong = {"Authorization": "Bearer not-the-token"}

    assert requests.get(f"{gms_standin.url}/config", timeout=5).json()["noCode"] == "true"
    assert requests.get(f"{gms_standin.url}/config", headers=wrong, timeout=5).status_code == 200
    assert requests.get(f"{gms_standin.url}/health", timeout=5).status_code == 200


def test_standin_unauthenticated_request_body_is_never_read(gms_standin: GmsStandIn) -> None:
    """GIVEN no valid token WHEN a body is posted THEN 401 before the body is read (nothing of it recorded)."""
    response = requests.post(f"{gms_standin.url}/aspects?action=ingestProposal", json={"canary": "x" * 1000}, timeout=5)

    assert response.status_code == 401
    (recorded,) = gms_standin.requests
    assert recorded["body"] is None and recorded["authenticated"] is False


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/entitiesV2/urn:li:corpuser:datahub"), ("POST", "/aspects?action=ingestProposal")],
)
def test_standin_token_without_privileges_answers_403(gms_standin: GmsStandIn, method: str, path: str) -> None:
    proposal = {
        "entityType": "dataHubExecutionRequest",
        "entityUrn": "urn:li:dataHubExecutionRequest:forbidden",
        "changeType": "UPSERT",
        "aspectName": "dataHubExecutionRequestResult",
        "aspect": {"value": '{"status": "RUNNING"}', "contentType": "application/json"},
    }
    response = requests.request(
        method,
        f"{gms_standin.url}{path}",
        json={"proposal": proposal} if method == "POST" else None,
        headers={"Authorization": f"Bearer {gms_standin.unprivileged_token}"},
        timeout=5,
    )

    assert response.status_code == 403
    assert response.json()["message"].startswith("User is unauthorized to")
    assert gms_standin.proposals == 0


def test_standin_with_wrong_token_answers_401(gms_standin: GmsStandIn) -> None:
    response = requests.post(
        f"{gms_standin.url}/aspects?action=ingestProposal",
        json={"proposal": {}},
        headers={"Authorization": "Bearer not-the-token"},
        timeout=5,
    )

    assert response.status_code == 401
    assert gms_standin.proposals == 0
    assert gms_standin.requests[0]["authenticated"] is False
    assert "not-the-token" not in str(gms_standin.requests)


def test_standin_health_and_page_need_no_token(gms_standin: GmsStandIn) -> None:
    assert requests.get(f"{gms_standin.url}/health", timeout=5).status_code == 200
    assert requests.get(gms_standin.page_url, timeout=5).status_code == 200
    assert requests.get(f"{gms_standin.url}/", timeout=5).status_code == 200


def test_standin_config_answers_like_gms_on_both_prefixes(gms_standin: GmsStandIn) -> None:
    headers = {"Authorization": f"Bearer {gms_standin.token}"}
    base = gms_standin.url.removesuffix("/gms")

    with_prefix = requests.get(f"{gms_standin.url}/config", headers=headers, timeout=5)
    without_prefix = requests.get(f"{base}/config", headers=headers, timeout=5)

    assert with_prefix.status_code == without_prefix.status_code == 200
    config = with_prefix.json()
    assert config == without_prefix.json()
    assert config["noCode"] == "true"
    assert config["versions"]["acryldata/datahub"]["version"].startswith("v1.")
    assert [r["path"] for r in gms_standin.requests] == ["/config", "/config"]
    assert gms_standin.requests[0]["raw_path"] == "/gms/config"


def test_standin_config_satisfies_datahubs_own_emitter(gms_standin: GmsStandIn) -> None:
    from datahub.emitter.rest_emitter import DatahubRestEmitter

    emitter = DatahubRestEmitter(gms_standin.url, token=gms_standin.token)

    emitter.test_connection()

    assert emitter.server_config.is_no_code_enabled
    assert emitter.server_config.service_version == "v1.3.0"


def test_standin_unknown_route_answers_404_in_restli_shape(gms_standin: GmsStandIn) -> None:
    response = requests.get(
        f"{gms_standin.url}/nowhere", headers={"Authorization": f"Bearer {gms_standin.token}"}, timeout=5
    )

    assert response.status_code == 404
    body = response.json()
    assert body["exceptionClass"] == "com.linkedin.restli.server.RestLiServiceException"
    assert "nowhere" in body["message"]


def test_standin_records_each_request_with_parsed_body(gms_standin: GmsStandIn) -> None:
    requests.post(
        f"{gms_standin.url}/aspects?action=ingestProposal",
        json={"proposal": {"entityType": "x"}},
        headers={"Authorization": f"Bearer {gms_standin.token}", "X-RestLi-Protocol-Version": "2.0.0"},
        timeout=5,
    )

    (recorded,) = gms_standin.requests_to("/aspects", action="ingestProposal")
    assert recorded["method"] == "POST"
    assert recorded["query"] == {"action": "ingestProposal"}
    assert recorded["headers"]["X-RestLi-Protocol-Version"] == "2.0.0"
    assert recorded["body"] == {"proposal": {"entityType": "x"}}
    assert recorded["status"] == 422


def test_standin_reads_a_chunked_request_body(gms_standin: GmsStandIn) -> None:
    proposal = {
        "entityType": "dataHubExecutionRequest",
        "entityUrn": "urn:li:dataHubExecutionRequest:chunked",
        "changeType": "UPSERT",
        "aspectName": "dataHubExecutionRequestResult",
        "aspect": {"value": '{"status": "RUNNING"}', "contentType": "application/json"},
    }
    body = json.dumps({"proposal": proposal}).encode()

    response = requests.post(
        f"{gms_standin.url}/aspects?action=ingestProposal",
        data=iter([body[:10], body[10:]]),  # a generator body is sent chunked
        headers={"Authorization": f"Bearer {gms_standin.token}"},
        timeout=5,
    )

    assert response.status_code == 200
    assert gms_standin.result("urn:li:dataHubExecutionRequest:chunked") == {"status": "RUNNING"}


def test_standin_keeps_only_the_latest_recorded_requests(gms_standin: GmsStandIn) -> None:
    gms_standin.max_recorded_requests = 3

    for _ in range(5):
        requests.get(f"{gms_standin.url}/health", timeout=5)

    assert len(gms_standin.requests) == 3
    gms_standin.clear_requests()
    assert gms_standin.requests == []
