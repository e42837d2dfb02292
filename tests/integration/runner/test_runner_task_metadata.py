"""Inside ECS: the kickoff names the task, from the task metadata endpoint v4."""

from __future__ import annotations

import time

import pytest
from runner_harness import child, make_spec

from local_stack.task_metadata import TaskMetadataServer, task_metadata

TASK_ARN = "arn:aws:ecs:eu-west-1:123456789012:task/datahub-executor/0f1e2d3c4b5a69788796a5b4c3d2e1f0"


LOG_STREAM = "runner/runner/0f1e2d3c4b5a69788796a5b4c3d2e1f0"


@pytest.fixture
def metadata_uri():
    """The task metadata endpoint v4 for one task of 1 vCPU and 4096 MiB, with the awslogs options ECS reports."""
    server = TaskMetadataServer().start()
    task = {"taskArn": TASK_ARN, "cpu": "1024", "memory": "4096"}
    definition = {"family": "datahub-executor-runner", "containerDefinitions": [{"name": "runner", "image": "runner"}]}
    document = task_metadata(task, definition)
    document["Containers"][0] |= {
        "LogDriver": "awslogs",
        "LogOptions": {
            "awslogs-group": "/datahub/executor",
            "awslogs-region": "eu-west-1",
            "awslogs-stream": LOG_STREAM,
        },
    }
    try:
        yield server.register(TASK_ARN.rsplit("/", 1)[-1], document)
    finally:
        server.stop()


def test_runner_kickoff_names_the_ecs_task(runner, gms_standin, metadata_uri):
    spec = make_spec("metadata-1")
    extra = {
        "ECS_CONTAINER_METADATA_URI_V4": metadata_uri,
    }

    result = runner.run(spec, extra, child=child("exit_code.py", "0"))

    assert result.returncode == 0, result.stderr
    kickoff = gms_standin.history(spec.execution_request_urn)[0]
    assert kickoff["status"] == "RUNNING"
    assert TASK_ARN in kickoff["report"]
    assert kickoff["startTimeMs"] == gms_standin.result(spec.execution_request_urn)["startTimeMs"]


def test_runner_report_links_the_full_log_at_the_top(runner, gms_standin, metadata_uri):
    # GIVEN a run inside ECS (awslogs) with a run bucket, whose child fails
    spec = make_spec("links-1")
    extra = {"ECS_CONTAINER_METADATA_URI_V4": metadata_uri, "RUN_BUCKET": "executor-runs"}

    runner.run(spec, extra, child=child("exit_code.py", "3"))

    # THEN the report's first lines link the full log in CloudWatch and in the run folder
    head = gms_standin.result(spec.execution_request_urn)["report"].split("~~~~ Execution Summary")[0]
    console = (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/"
        "$252Fdatahub$252Fexecutor/log-events/runner$252Frunner$252F0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    )
    assert f"Full log (CloudWatch): {console}" in head
    assert "Full log (S3): s3://executor-runs/runs/links-1/runner.log" in head
    assert console in gms_standin.history(spec.execution_request_urn)[0]["report"]


def test_runner_every_write_keeps_the_launch_time(runner, gms_standin):
    # GIVEN the dispatcher launched the run a minute ago (Fargate provisioning, image pull)
    launched_at_ms = int(time.time() * 1000) - 60_000
    spec = make_spec("launch-time-1", launched_at_ms=launched_at_ms)

    result = runner.run(spec, {"RUNNER_PROGRESS_INTERVAL_SECONDS": "0.1"}, child=child("chatty.py", "1", "50"))

    # THEN every RUNNING and the final write say the run started at launch, and the duration counts from there
    assert result.returncode == 0, result.stderr
    history = gms_standin.history(spec.execution_request_urn)
    assert len(history) >= 2
    assert {write["startTimeMs"] for write in history} == {launched_at_ms}
    assert history[-1]["durationMs"] >= 60_000
