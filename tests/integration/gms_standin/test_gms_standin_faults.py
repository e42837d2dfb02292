"""Fault knobs, and proof that our GmsClient's terminal write survives them."""

from __future__ import annotations

import time

import pytest
import requests
from executor_common.errors import GmsError
from executor_common.gms import GmsClient
from executor_common.results import ExecutionRequestResult, StructuredExecutionReport
from executor_common.status import ExecutionStatus

from local_stack.gms_standin import GmsStandIn


class FakeSleep:
    """Records the delays instead of waiting them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def test_fail_next_then_write_result_with_retry_still_succeeds(
    gms_standin: GmsStandIn, gms_client: GmsClient, execution_urn: str
) -> None:
    # GIVEN GMS fails the next three writes
    gms_standin.fail_next(3, status=503)
    sleep = FakeSleep()

    # WHEN the terminal status is written with retries
    ok = gms_client.write_result_with_retry(execution_urn, ExecutionRequestResult(status="SUCCESS"), sleep=sleep)

    # THEN it lands on the fourth attempt, after three backoffs
    assert ok is True
    assert gms_standin.result(execution_urn) == {"status": "SUCCESS"}
    assert [r["status"] for r in gms_standin.requests_to("/aspects", "ingestProposal")] == [503, 503, 503, 200]
    assert len(sleep.delays) == 3


def test_fail_next_with_a_client_error_is_not_retried(
    gms_standin: GmsStandIn, gms_client: GmsClient, execution_urn: str
) -> None:
    gms_standin.fail_next(1, status=400)

    ok = gms_client.write_result_with_retry(execution_urn, ExecutionRequestResult(status="FAILURE"), sleep=FakeSleep())

    assert ok is False
    assert gms_standin.result(execution_urn) is None


def test_fail_next_only_hits_matching_paths(gms_standin: GmsStandIn, gms_client: GmsClient, execution_urn: str) -> None:
    gms_standin.fail_next(1, status=500, path_contains="ingestProposal")

    assert gms_client.read_input(execution_urn) is None  # a read (GET /aspects) is untouched
    with pytest.raises(GmsError) as raised:
        gms_client.write_result(execution_urn, ExecutionRequestResult(status="RUNNING"))
    gms_client.write_result(execution_urn, ExecutionRequestResult(status="RUNNING"))

    assert raised.value.status_code == 500
    assert gms_standin.statuses(execution_urn) == ["RUNNING"]


def test_body_above_max_body_bytes_answers_413(
    gms_standin: GmsStandIn, gms_client: GmsClient, execution_urn: str
) -> None:
    gms_standin.max_body_bytes = 1_000

    with pytest.raises(GmsError) as raised:
        gms_client.write_result(execution_urn, ExecutionRequestResult(status="SUCCESS", report="x" * 5_000))

    assert raised.value.status_code == 413
    assert gms_standin.result(execution_urn) is None


def test_write_result_with_retry_shrinks_until_gms_accepts_and_keeps_the_status(
    gms_standin: GmsStandIn, gms_client: GmsClient, execution_urn: str
) -> None:
    # GIVEN a GMS that refuses bodies above 20 kB, and a result far bigger than that
    gms_standin.max_body_bytes = 20_000
    big = ExecutionRequestResult(
        status=ExecutionStatus.FAILURE,
        report="\n".join(f"log line {i}" for i in range(10_000)),
        structuredReport=StructuredExecutionReport(type="CLI_INGEST", serializedValue="{" + '"k": 1,' * 30_000 + "}"),
    )

    # WHEN the terminal write is attempted
    ok = gms_client.write_result_with_retry(execution_urn, big, sleep=FakeSleep())

    # THEN the terminal status landed, with the report's tail and without the structured report
    assert ok is True
    stored = gms_standin.result(execution_urn)
    assert stored["status"] == "FAILURE"
    assert "structuredReport" not in stored
    assert stored["report"].endswith("log line 9999")
    assert 413 in [r["status"] for r in gms_standin.requests_to("/aspects", "ingestProposal")]


def test_delay_seconds_slows_every_authenticated_answer(gms_standin: GmsStandIn) -> None:
    gms_standin.delay_seconds = 0.3
    headers = {"Authorization": f"Bearer {gms_standin.token}"}

    started = time.monotonic()
    requests.get(f"{gms_standin.url}/entitiesV2/urn:li:corpuser:datahub", headers=headers, timeout=5)
    elapsed = time.monotonic() - started

    assert elapsed >= 0.3


def test_delay_longer_than_client_timeout_is_a_retryable_gms_error(gms_standin: GmsStandIn, execution_urn: str) -> None:
    gms_standin.delay_seconds = 1.0
    impatient = GmsClient(gms_standin.url, gms_standin.token, timeout=0.2, session_retries=0)

    with pytest.raises(GmsError) as raised:
        impatient.write_result(execution_urn, ExecutionRequestResult(status="RUNNING"))

    assert raised.value.retryable
