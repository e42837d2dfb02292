"""Each sample STOPPED event through the real handler, against moto's CloudWatch Logs and the GMS stand-in."""

from __future__ import annotations

import copy
import json

import pytest
from reconciler_stack import RUN_LOG_LINES, sqs_batch

from tests.conftest import load_event

RUN_LOG = RUN_LOG_LINES


def _urn(event: dict) -> str:
    env = event["detail"]["overrides"]["containerOverrides"][0]["environment"]
    return next(pair["value"] for pair in env if pair["name"] == "EXECUTOR_EXECUTION_REQUEST_URN")


def _task_id(event: dict) -> str:
    return event["detail"]["taskArn"].rsplit("/", 1)[-1]


def _seed_running(stack, event: dict, start_ms: int = 1_764_144_000_000) -> str:
    urn = _urn(event)
    stack.gms.seed_result(urn, {"status": "RUNNING", "report": "Starting the run", "startTimeMs": start_ms})
    return urn


def _oom_event_and_its_earlier_version() -> tuple[dict, dict]:
    """The sample OOM STOPPED event (version 5), and a version 4 sent before the container's reason was known."""
    newer = load_event("ecs_task_stopped_oom.json")
    older = copy.deepcopy(newer)
    older["detail"]["version"] = 4
    older["detail"]["containers"][0].pop("reason")
    older["detail"]["containers"][0]["exitCode"] = 1
    return newer, older


@pytest.mark.parametrize(
    ("event_file", "status", "expected", "has_log"),
    [
        (
            "ecs_task_stopped_oom.json",
            "FAILURE",
            ["ran out of memory", "EXECUTOR_TASK_MEMORY", "4096 MiB", "OutOfMemoryError: Container killed"],
            True,
        ),
        (
            "ecs_task_stopped_image_pull.json",
            "FAILURE",
            ["could not be pulled", "CannotPullContainerError", "VPC endpoints", "1.7.0.99"],
            False,
        ),
        (
            "ecs_task_stopped_secrets.json",
            "FAILURE",
            ["could not be prepared", "secretsmanager:GetSecretValue", "ResourceInitializationError", "name or ARN"],
            False,
        ),
        (
            "ecs_task_failed_to_start.json",
            "FAILURE",
            ["failed to start", "network interface", "Containers: none were created", "TaskFailedToStart"],
            False,
        ),
        ("ecs_task_stopped_cancelled.json", "CANCELLED", ["cancelled", "urn:li:corpuser:datahub"], True),
        ("ecs_task_stopped_spot.json", "ABORTED", ["Spot", "SpotInterruption", "FARGATE_SPOT"], True),
        ("ecs_task_stopped_backstop.json", "FAILURE", ["timed out", "EXECUTOR_RUN_TIMEOUT_SECONDS"], True),
    ],
)
def test_reconciler_stopped_event_writes_status_with_explanation_facts_and_log(
    reconciler_stack, event_file, status, expected, has_log
):
    # GIVEN a run DataHub shows as RUNNING whose task stopped without the runner reporting
    event = load_event(event_file)
    urn = _seed_running(reconciler_stack, event)
    if has_log:
        reconciler_stack.put_run_log(_task_id(event), RUN_LOG)

    # WHEN the STOPPED event is delivered directly (sam local invoke -e events/<file>)
    response = reconciler_stack.invoke(event)

    # THEN DataHub shows the terminal status and a report a user can act on
    result = reconciler_stack.gms.result(urn)
    assert response["action"] == "written"
    assert result["status"] == status
    report = result["report"]
    for words in expected:
        assert words.lower() in report.lower(), f"{words!r} missing from the report"
    assert "What happened:" in report
    assert "How to fix it:" in report
    assert f"Task: {event['detail']['taskArn']}" in report
    assert f"Stop code: {event['detail']['stopCode']}" in report
    assert result["startTimeMs"] == 1_764_144_000_000
    if has_log:
        assert f"Last {len(RUN_LOG)} lines of the run's log" in report
        assert "\n".join(RUN_LOG) in report
        assert f"runs/runner/{_task_id(event)}" in report
    else:
        assert "has no lines" in report


def test_reconciler_oom_duration_is_the_tasks_run_time(reconciler_stack):
    event = load_event("ecs_task_stopped_oom.json")
    urn = _seed_running(reconciler_stack, event)

    reconciler_stack.invoke(event)

    # startedAt 08:00:24.502 -> stoppedAt 08:41:35.870
    assert reconciler_stack.gms.result(urn)["durationMs"] == (41 * 60 + 11) * 1000 + 368


def test_reconciler_after_success_writes_nothing(reconciler_stack):
    # GIVEN the runner already reported SUCCESS
    event = load_event("ecs_task_stopped_after_success.json")
    urn = _urn(event)
    reconciler_stack.gms.seed_result(urn, {"status": "SUCCESS", "report": "Ingestion finished", "startTimeMs": 1})

    response = reconciler_stack.invoke(event)

    assert response["action"] == "skipped"
    assert reconciler_stack.writes() == []
    assert reconciler_stack.gms.result(urn)["report"] == "Ingestion finished"


def test_reconciler_clean_exit_without_report_says_the_status_never_arrived(reconciler_stack):
    event = load_event("ecs_task_stopped_after_success.json")
    urn = _seed_running(reconciler_stack, event)

    reconciler_stack.invoke(event)

    result = reconciler_stack.gms.result(urn)
    assert result["status"] == "FAILURE"
    assert "never reached DataHub" in result["report"]


def test_reconciler_run_unknown_to_datahub_still_gets_a_status(reconciler_stack):
    event = load_event("ecs_task_stopped_image_pull.json")

    reconciler_stack.invoke(event)

    assert reconciler_stack.gms.result(_urn(event))["status"] == "FAILURE"


def test_reconciler_sqs_batch_sample_reconciles_every_record(reconciler_stack):
    batch = load_event("reconciler_sqs_batch.json")
    oom, pull = load_event("ecs_task_stopped_oom.json"), load_event("ecs_task_stopped_image_pull.json")
    for event in (oom, pull):
        _seed_running(reconciler_stack, event)

    response = reconciler_stack.invoke(batch)

    assert response == {"batchItemFailures": []}
    assert reconciler_stack.gms.result(_urn(oom))["status"] == "FAILURE"
    assert "could not be pulled" in reconciler_stack.gms.result(_urn(pull))["report"]


def test_reconciler_duplicate_delivery_writes_once(reconciler_stack):
    event = load_event("ecs_task_stopped_oom.json")
    urn = _seed_running(reconciler_stack, event)

    reconciler_stack.invoke(sqs_batch(event))
    reconciler_stack.invoke(sqs_batch(event, event))
    reconciler_stack.invoke(event)

    assert len(reconciler_stack.writes()) == 1
    assert reconciler_stack.gms.statuses(urn) == ["RUNNING", "FAILURE"]


def test_reconciler_older_version_after_newer_does_not_overwrite(reconciler_stack):
    # GIVEN version 5 (the OOM diagnosis) was reconciled, then an older version 4 arrives late
    newer, older = _oom_event_and_its_earlier_version()
    urn = _seed_running(reconciler_stack, newer)

    reconciler_stack.invoke(sqs_batch(newer))
    reconciler_stack.invoke(sqs_batch(older))

    assert len(reconciler_stack.writes()) == 1
    assert "ran out of memory" in reconciler_stack.gms.result(urn)["report"]


def test_reconciler_newer_version_refines_our_own_older_diagnosis(reconciler_stack):
    # GIVEN a first STOPPED event (version 4) without the container's reason, then the full one (version 5)
    newer, older = _oom_event_and_its_earlier_version()
    urn = _seed_running(reconciler_stack, newer)

    reconciler_stack.invoke(sqs_batch(older))
    first = reconciler_stack.gms.result(urn)["report"]
    reconciler_stack.invoke(sqs_batch(newer))

    assert "exited with code 1" in first
    assert "ran out of memory" in reconciler_stack.gms.result(urn)["report"]
    assert reconciler_stack.gms.statuses(urn) == ["RUNNING", "FAILURE", "FAILURE"]


def test_reconciler_running_event_after_stopped_changes_nothing(reconciler_stack):
    stopped = load_event("ecs_task_stopped_oom.json")
    running = copy.deepcopy(stopped)
    running["detail"].update(lastStatus="RUNNING", desiredStatus="RUNNING", version=2)
    for key in ("stopCode", "stoppedReason", "stoppedAt", "stoppingAt", "executionStoppedAt"):
        running["detail"].pop(key, None)
    running["detail"]["containers"][0] = {
        k: v for k, v in running["detail"]["containers"][0].items() if k not in ("exitCode", "reason")
    } | {"lastStatus": "RUNNING"}
    urn = _seed_running(reconciler_stack, stopped)

    reconciler_stack.invoke(sqs_batch(stopped))
    response = reconciler_stack.invoke(sqs_batch(running))

    assert response == {"batchItemFailures": []}
    assert reconciler_stack.gms.statuses(urn) == ["RUNNING", "FAILURE"]


def test_reconciler_gms_down_fails_the_record_then_succeeds_on_redelivery(reconciler_stack):
    # GIVEN GMS answers 500 to every attempt of the first read (the client retries twice)
    event = load_event("ecs_task_stopped_oom.json")
    urn = _seed_running(reconciler_stack, event)
    batch = sqs_batch(event)
    reconciler_stack.gms.fail_next(3, status=500)

    first = reconciler_stack.invoke(batch)

    # THEN the record is a batch item failure and nothing was written
    assert first == {"batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]}
    assert reconciler_stack.gms.result(urn)["status"] == "RUNNING"

    # WHEN SQS delivers it again with GMS back
    second = reconciler_stack.invoke(batch)

    assert second == {"batchItemFailures": []}
    assert reconciler_stack.gms.result(urn)["status"] == "FAILURE"


def test_reconciler_gms_down_on_the_write_is_retried_too(reconciler_stack):
    event = load_event("ecs_task_stopped_secrets.json")
    urn = _seed_running(reconciler_stack, event)
    batch = sqs_batch(event)
    reconciler_stack.gms.fail_next(3, status=503, path_contains="ingestProposal")

    assert reconciler_stack.invoke(batch)["batchItemFailures"]
    assert reconciler_stack.invoke(batch) == {"batchItemFailures": []}
    assert reconciler_stack.gms.result(urn)["status"] == "FAILURE"


def test_reconciler_one_bad_record_does_not_block_the_others(reconciler_stack):
    good = load_event("ecs_task_stopped_spot.json")
    urn = _seed_running(reconciler_stack, good)
    batch = sqs_batch(good)
    batch["Records"].insert(0, dict(batch["Records"][0], messageId="bad-1", body="{not json"))

    response = reconciler_stack.invoke(batch)

    assert response == {"batchItemFailures": [{"itemIdentifier": "bad-1"}]}
    assert reconciler_stack.gms.result(urn)["status"] == "ABORTED"


def test_reconciler_maps_by_started_by_when_overrides_lack_the_urn(reconciler_stack):
    event = load_event("ecs_task_stopped_oom.json")
    urn = _urn(event)
    event["detail"]["overrides"]["containerOverrides"][0]["environment"] = []
    reconciler_stack.gms.seed_result(urn, {"status": "RUNNING", "startTimeMs": 5})

    reconciler_stack.invoke(event)

    assert reconciler_stack.gms.result(urn)["status"] == "FAILURE"


def test_reconciler_ignores_tasks_it_did_not_launch(reconciler_stack):
    event = load_event("ecs_task_stopped_oom.json")
    event["detail"]["overrides"] = {"containerOverrides": [{"name": "web"}]}
    event["detail"]["containers"][0]["name"] = "web"
    event["detail"].update(group="service:web", startedBy="ecs-svc/9223370545345641169")

    response = reconciler_stack.invoke(event)

    assert response["action"] == "ignored"
    assert reconciler_stack.gms.requests_to("/aspects", "ingestProposal") == []


def test_reconciler_direct_event_with_gms_down_raises_for_lambdas_retry(reconciler_stack):
    from executor_common.errors import GmsError

    event = load_event("ecs_task_stopped_oom.json")
    urn = _seed_running(reconciler_stack, event)
    reconciler_stack.gms.fail_next(3, status=502)

    with pytest.raises(GmsError):
        reconciler_stack.invoke(event)
    assert reconciler_stack.gms.result(urn)["status"] == "RUNNING"


def test_reconciler_counts_runs_reconciled_by_reason(reconciler_stack, capsys):
    event = load_event("ecs_task_stopped_image_pull.json")
    _seed_running(reconciler_stack, event)

    reconciler_stack.invoke(event)
    reconciler_stack.invoke(event)  # the duplicate writes nothing and counts nothing

    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    metrics = [m for m in emitted if "RunsReconciled" in m]  # the per-run metrics (run_metrics.py) are beside it
    assert [(m["RunsReconciled"], m["Reason"]) for m in metrics] == [([1.0], "ImagePull")]
    assert sum("RunsFinished" in m for m in emitted) == 1
    assert metrics[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "DataHubRemoteExecutor"


def test_reconciler_sustained_gms_outage_opens_the_breaker_and_fails_the_rest_fast(reconciler_stack):
    # GIVEN a batch of six stopped runs and GMS answering 503 to everything
    events = []
    for n in range(6):
        event = copy.deepcopy(load_event("ecs_task_stopped_oom.json"))
        event["detail"]["taskArn"] = event["detail"]["taskArn"][:-2] + f"{n:02d}"
        event["id"] = f"outage-{n}"
        for pair in event["detail"]["overrides"]["containerOverrides"][0]["environment"]:
            if pair["name"] == "EXECUTOR_EXECUTION_REQUEST_URN":
                pair["value"] = f"urn:li:dataHubExecutionRequest:outage-{n}"
        events.append(event)
    urns = [_seed_running(reconciler_stack, event) for event in events]
    batch = sqs_batch(*events)
    reconciler_stack.gms.clear_requests()
    reconciler_stack.gms.fail_next(10_000, status=503)

    # WHEN the reconciler handles the batch
    response = reconciler_stack.invoke(batch)

    # THEN every record comes back for a later delivery, and once three records in a row met the outage
    # the rest do not call GMS at all (each attempt is a read with two session retries: 3 requests)
    assert len(response["batchItemFailures"]) == 6
    reads = [r for r in reconciler_stack.gms.requests if r["path"].startswith("/aspects/")]
    assert len(reads) == 3 * 3
    assert all(reconciler_stack.gms.result(urn)["status"] == "RUNNING" for urn in urns)
