"""The runner's terminal write also publishes the "Ingestion Run State Change" event (issue 15 item 3)."""

from __future__ import annotations

import pytest
from runner_harness import child, make_spec

from local_stack.moto_server import MotoServer, aws_environment
from tests.support.run_events import catch_run_events, caught_run_events

CANARY = "event-canary-pw-7c1d"


@pytest.fixture
def moto():
    server = MotoServer().start()
    try:
        yield server
    finally:
        server.stop()


def test_runner_failure_publishes_run_state_event_without_secrets(runner, gms_standin, moto):
    # GIVEN a rule on the default bus catching the executor's events, and a run with a secret whose child fails
    sqs = moto.aws().client("sqs")
    queue_url = catch_run_events(moto.aws().client("events"), sqs)
    recipe = {"source": {"type": "file", "config": {"password": "${DB_PASSWORD}"}}}
    spec = make_spec(
        "event-1", recipe, secret_names=["DB_PASSWORD"], ingestion_source_urn="urn:li:dataHubIngestionSource:pg"
    )
    extra = {**aws_environment(moto.endpoint_url), "EVENT_BUS_NAME": "default", "DB_PASSWORD": CANARY}

    # WHEN the run fails
    result = runner.run(spec, extra, child=child("exit_code.py", "3"))

    # THEN one event says which run of which source failed, how long it took, and nothing secret
    assert result.returncode == 1, result.stderr
    (event,) = caught_run_events(sqs, queue_url)
    assert (event["source"], event["detail-type"]) == ("datahub.executor", "Ingestion Run State Change")
    detail = event["detail"]
    assert detail["executionRequestUrn"] == spec.execution_request_urn
    assert detail["ingestionSourceUrn"] == "urn:li:dataHubIngestionSource:pg"
    assert detail["status"] == "FAILURE"
    assert detail["reportedBy"] == "runner"
    assert detail["durationMs"] >= 0
    assert CANARY not in str(event)
    assert gms_standin.result(spec.execution_request_urn)["status"] == "FAILURE"


def test_runner_without_bus_publishes_nothing_and_still_reports(runner, gms_standin, moto):
    sqs = moto.aws().client("sqs")
    queue_url = catch_run_events(moto.aws().client("events"), sqs)
    spec = make_spec("event-2")

    result = runner.run(spec, aws_environment(moto.endpoint_url), child=child("exit_code.py", "0"))

    assert result.returncode == 0, result.stderr
    assert caught_run_events(sqs, queue_url) == []
