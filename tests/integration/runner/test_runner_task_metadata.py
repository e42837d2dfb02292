"""Inside ECS: the kickoff names the task, from the task metadata endpoint v4."""

from __future__ import annotations

import pytest
from runner_harness import child, make_spec

from local_stack.task_metadata import TaskMetadataServer, task_metadata

TASK_ARN = "arn:aws:ecs:eu-west-1:123456789012:task/datahub-executor/0f1e2d3c4b5a69788796a5b4c3d2e1f0"


@pytest.fixture
def metadata_uri():
    """The task metadata endpoint v4 as the local ECS agent serves it, for one task of 1 vCPU and 4096 MiB."""
    server = TaskMetadataServer().start()
    task = {"taskArn": TASK_ARN, "cpu": "1024", "memory": "4096"}
    definition = {"family": "datahub-executor-runner", "containerDefinitions": [{"name": "runner", "image": "runner"}]}
    try:
        yield server.register(TASK_ARN.rsplit("/", 1)[-1], task_metadata(task, definition))
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
