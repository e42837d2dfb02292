"""The GMS client's one retry rule, its per-request token and the GMS URL check, against the stand-in."""

from __future__ import annotations

import uuid

import pytest
from executor_common.errors import GmsError
from executor_common.gms import GmsClient
from executor_common.gms_url import checked_gms_url
from executor_common.results import ExecutionRequestResult

from local_stack.gms_standin import GmsStandIn


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (None, True),  # unreachable or timed out
        (401, True),  # e.g. a token rotated a moment ago: the Lambdas read the new one within the cache time
        (403, True),
        (404, True),  # a wrong URL: keep the message for the DLQ and its alarm
        (408, True),
        (429, True),
        (500, True),
        (503, True),
        (400, False),  # GMS refused the request's content: the same request is refused again
        (413, False),
        (422, False),
    ],
)
def test_gms_error_retryable_rule(status, retryable):
    assert GmsError("x", status_code=status).retryable is retryable


def _urn() -> str:
    return f"urn:li:dataHubExecutionRequest:{uuid.uuid4()}"


def test_gms_client_asks_its_token_provider_per_request():
    # GIVEN a client built once, whose provider hands out the current token
    with GmsStandIn(token="old-token") as standin:
        current = {"token": "old-token"}
        client = GmsClient(standin.url, lambda: current["token"], session_retries=0)
        urn = _urn()
        client.write_result(urn, ExecutionRequestResult(status="RUNNING"))

        # WHEN the token is rotated (GMS now refuses the old one) and the provider returns the new one
        standin.token = current["token"] = "new-token"
        client.write_result(urn, ExecutionRequestResult(status="SUCCESS"))

        # THEN the same client authenticated with the new token
        assert standin.result(urn)["status"] == "SUCCESS"


def test_gms_client_with_a_fixed_token_stops_retrying_a_refused_token():
    # GIVEN a runner-style client whose token GMS no longer accepts
    with GmsStandIn(token="rotated") as standin:
        client = GmsClient(standin.url, "stale", session_retries=0)
        sleeps: list[float] = []

        # WHEN it writes its terminal status
        delivered = client.write_result_with_retry(
            _urn(), ExecutionRequestResult(status="SUCCESS"), deadline_seconds=600, sleep=sleeps.append
        )

        # THEN it gives up at once: its token cannot change while it retries
        assert delivered is False and sleeps == []


def test_gms_client_with_a_provider_retries_a_refused_token_until_it_is_accepted():
    with GmsStandIn(token="new") as standin:
        tokens = iter(["old", "new"])
        client = GmsClient(standin.url, lambda: next(tokens), session_retries=0)
        urn = _urn()

        delivered = client.write_result_with_retry(urn, ExecutionRequestResult(status="SUCCESS"), sleep=lambda _: None)

        assert delivered is True and standin.result(urn)["status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://datahub-gms:8080", "http://datahub-gms:8080"),  # open-source GMS, addressed directly
        ("http://datahub-gms:8080/", "http://datahub-gms:8080"),
        ("https://datahub.example.com", "https://datahub.example.com"),
        ("https://datahub.example.com/gms/", "https://datahub.example.com/gms"),
        ("https://acme.acryl.io/gms", "https://acme.acryl.io/gms"),
        (" https://acme.ACRYL.io/gms ", "https://acme.ACRYL.io/gms"),
    ],
)
def test_checked_gms_url_accepts_http_base_urls(url, expected):
    assert checked_gms_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://acme.acryl.io", "for DataHub Cloud must end in /gms"),
        ("https://acme.acryl.io/api", "for DataHub Cloud must end in /gms"),
        ("datahub-gms:8080", "must be an http.s. base URL"),
        ("ftp://datahub-gms", "must be an http.s. base URL"),
        ("http://", "must be an http.s. base URL"),
        ("http://datahub-gms:8080?x=1", "without a query"),
    ],
)
def test_checked_gms_url_refuses_what_cannot_work(url, message):
    with pytest.raises(ValueError, match=message):
        checked_gms_url(url)
