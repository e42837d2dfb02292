"""What ECS says about a stop has the final word over the CANCELLED the runner writes on any SIGTERM.

The runner cannot tell a DataHub cancel from a Spot reclaim or the backstop's timeout stop (all are a
SIGTERM); it writes CANCELLED and exits 2 (as in the sample events). The reconciler reads the stop's
cause from the STOPPED event and corrects it; a genuine cancel stays CANCELLED.
"""

from __future__ import annotations

import copy

import pytest
from reconciler_stack import RUN_LOG_LINES, sqs_batch

from tests.conftest import load_event

RUNNER_CANCELLED = {
    "status": "CANCELLED",
    "report": "~~~~ Execution Summary - RUN_INGEST ~~~~\nSource (postgres) report: 120 tables scanned\nCancelled.",
    "structuredReport": {
        "type": "RUN_INGEST",
        "serializedValue": '{"source": {"report": {"events_produced": 120}}}',
        "contentType": "application/json",
    },
    "startTimeMs": 1_764_144_000_000,
}


def _urn(event: dict) -> str:
    env = event["detail"]["overrides"]["containerOverrides"][0]["environment"]
    return next(pair["value"] for pair in env if pair["name"] == "EXECUTOR_EXECUTION_REQUEST_URN")


def _runner_wrote_cancelled(stack, event: dict) -> str:
    """GIVEN the runner got SIGTERM, wrote CANCELLED with its report, and exited 2."""
    assert event["detail"]["containers"][0]["exitCode"] == 2
    urn = _urn(event)
    stack.gms.seed_result(urn, copy.deepcopy(RUNNER_CANCELLED))
    stack.put_run_log(event["detail"]["taskArn"].rsplit("/", 1)[-1], RUN_LOG_LINES)
    return urn


@pytest.mark.parametrize(
    ("event_file", "status", "must_say"),
    [
        ("ecs_task_stopped_spot.json", "ABORTED", ["AWS reclaimed the Fargate Spot capacity", "SpotInterruption"]),
        ("ecs_task_stopped_backstop.json", "FAILURE", ["The run timed out after 1d", "EXECUTOR_RUN_TIMEOUT_SECONDS"]),
    ],
)
def test_reconciler_not_a_cancel_replaces_the_runners_cancelled(reconciler_stack, event_file, status, must_say):
    event = load_event(event_file)
    urn = _runner_wrote_cancelled(reconciler_stack, event)

    # WHEN the STOPPED event arrives (through the SQS buffer)
    assert reconciler_stack.invoke(sqs_batch(event)) == {"batchItemFailures": []}

    # THEN DataHub shows what ECS says happened, explained, with the runner's report and counts kept
    result = reconciler_stack.gms.result(urn)
    assert result["status"] == status
    for words in must_say:
        assert words in result["report"]
    assert "The runner had reported CANCELLED when ECS asked the task to stop" in result["report"]
    assert "120 tables scanned" in result["report"]
    assert result["structuredReport"] == RUNNER_CANCELLED["structuredReport"]
    assert result["startTimeMs"] == RUNNER_CANCELLED["startTimeMs"]


def test_reconciler_genuine_cancel_stays_cancelled(reconciler_stack):
    event = load_event("ecs_task_stopped_cancelled.json")
    urn = _runner_wrote_cancelled(reconciler_stack, event)

    response = reconciler_stack.invoke(sqs_batch(event))

    assert response == {"batchItemFailures": []}
    assert reconciler_stack.writes() == []
    assert reconciler_stack.gms.result(urn) == RUNNER_CANCELLED


def test_reconciler_spot_duplicates_and_out_of_order_versions_write_once(reconciler_stack):
    # GIVEN ECS sends version 4 (no stop code yet) after version 5, and each twice
    newer = load_event("ecs_task_stopped_spot.json")
    older = copy.deepcopy(newer)
    older["detail"]["version"] = 4
    older["detail"]["stopCode"] = "EssentialContainerExited"
    older["detail"]["stoppedReason"] = "Essential container in task exited"
    urn = _runner_wrote_cancelled(reconciler_stack, newer)

    for event in (newer, newer, older, older):
        assert reconciler_stack.invoke(sqs_batch(event)) == {"batchItemFailures": []}

    # THEN exactly one correction, and it stands
    assert reconciler_stack.gms.statuses(urn) == ["CANCELLED", "ABORTED"]


def test_reconciler_older_version_first_cannot_block_the_correction(reconciler_stack):
    newer = load_event("ecs_task_stopped_backstop.json")
    older = copy.deepcopy(newer)
    older["detail"]["version"] = 4
    older["detail"]["stopCode"] = "EssentialContainerExited"
    older["detail"]["stoppedReason"] = "Essential container in task exited"
    urn = _runner_wrote_cancelled(reconciler_stack, newer)

    reconciler_stack.invoke(sqs_batch(older))  # the runner's CANCELLED stands: nothing says otherwise yet
    reconciler_stack.invoke(sqs_batch(newer))

    assert reconciler_stack.gms.statuses(urn) == ["CANCELLED", "FAILURE"]


def test_reconciler_spot_never_replaces_a_finished_run(reconciler_stack):
    # GIVEN the runner finished with SUCCESS just before the Spot reclaim
    event = load_event("ecs_task_stopped_spot.json")
    urn = _urn(event)
    reconciler_stack.gms.seed_result(urn, {"status": "SUCCESS", "report": "done", "startTimeMs": 1})

    reconciler_stack.invoke(sqs_batch(event))

    assert reconciler_stack.gms.statuses(urn) == ["SUCCESS"]


def test_reconciler_event_without_cluster_arn_is_not_ours(reconciler_stack):
    # GIVEN a task event that names no cluster (not something ECS sends for our tasks)
    event = load_event("ecs_task_stopped_oom.json")
    del event["detail"]["clusterArn"]
    urn = _urn(event)
    reconciler_stack.gms.seed_result(urn, {"status": "RUNNING", "startTimeMs": 1})

    response = reconciler_stack.invoke(event)

    assert response["action"] == "ignored" and "(none given)" in response["why"]
    assert reconciler_stack.gms.statuses(urn) == ["RUNNING"]
