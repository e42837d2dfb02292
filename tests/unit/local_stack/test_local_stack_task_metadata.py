"""The task metadata document the local agent serves to each runner (ECS task metadata endpoint v4)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from local_stack.task_metadata import TaskMetadataServer, task_metadata

TASK = {
    "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/cluster/abc",
    "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/cluster",
    "overrides": {"cpu": "2048", "memory": "8192"},
}
DEFINITION = {
    "family": "runner",
    "revision": 3,
    "cpu": "1024",
    "memory": "4096",
    "containerDefinitions": [{"name": "runner"}],
}


def test_task_metadata_prefers_the_run_overrides_for_limits() -> None:
    document = task_metadata(TASK, DEFINITION)

    assert document["TaskARN"] == TASK["taskArn"]
    assert document["Limits"] == {"CPU": 2.0, "Memory": 8192}
    assert document["Family"] == "runner" and document["Revision"] == "3"


def test_task_metadata_falls_back_to_the_task_definition_size() -> None:
    document = task_metadata({**TASK, "overrides": {}}, DEFINITION)

    assert document["Limits"] == {"CPU": 1.0, "Memory": 4096}


def test_server_answers_task_path_per_task_and_404_for_unknown_tasks() -> None:
    server = TaskMetadataServer().start()
    try:
        uri = server.register("abc", task_metadata(TASK, DEFINITION))

        with urllib.request.urlopen(f"{uri}/task", timeout=5) as response:
            body = json.load(response)
        assert body["TaskARN"] == TASK["taskArn"]
        with pytest.raises(urllib.error.HTTPError) as unknown:
            urllib.request.urlopen(uri.replace("/abc", "/nope") + "/task", timeout=5)
        assert unknown.value.code == 404
    finally:
        server.stop()
