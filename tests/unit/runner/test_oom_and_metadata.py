"""Out-of-memory diagnosis and ECS task metadata."""

from __future__ import annotations

import pytest
import requests
from executor_runner import task_metadata
from executor_runner.oom import MemoryLimit, memory_limit, oom_message, read_cgroup_limit


def test_read_cgroup_limit_v2_memory_max(tmp_path):
    (tmp_path / "memory.max").write_text(f"{4096 * 1024 * 1024}\n")

    assert read_cgroup_limit(tmp_path) == MemoryLimit(mib=4096, source="cgroup memory.max")


def test_read_cgroup_limit_v1(tmp_path):
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text(str(2048 * 1024 * 1024))

    assert read_cgroup_limit(tmp_path).mib == 2048


def test_memory_limit_unlimited_cgroup_falls_back_to_task_metadata(tmp_path):
    (tmp_path / "memory.max").write_text("max\n")

    assert memory_limit(8192, tmp_path) == MemoryLimit(mib=8192, source="ECS task metadata")
    assert memory_limit(None, tmp_path) is None


def test_oom_message_names_limit_setting_and_valid_values():
    message = oom_message(MemoryLimit(4096, "cgroup memory.max"), "1024")

    assert message.startswith("The ingestion ran out of memory")
    assert "4096 MiB" in message
    assert "EXECUTOR_TASK_MEMORY=8192" in message
    assert "2048 to 8192 MiB in steps of 1024" in message


def test_oom_message_unknown_limit_and_cpu_still_says_how_to_raise():
    message = oom_message(None, None)

    assert "could not be read" in message and "EXECUTOR_TASK_MEMORY" in message


class _Response:
    def __init__(self, body):
        self._body = body

    def raise_for_status(self):
        pass

    def json(self):
        return self._body


def test_fetch_task_metadata_reads_arn_and_limits(monkeypatch):
    seen = []
    body = {"TaskARN": "arn:aws:ecs:eu-west-1:1:task/c/abc", "Limits": {"CPU": 1, "Memory": 4096}}
    monkeypatch.setattr(requests, "get", lambda url, timeout: seen.append(url) or _Response(body))

    metadata = task_metadata.fetch_task_metadata("http://169.254.170.2/v4/x")

    assert seen == ["http://169.254.170.2/v4/x/task"]
    assert metadata == task_metadata.TaskMetadata("arn:aws:ecs:eu-west-1:1:task/c/abc", 1.0, 4096)


@pytest.mark.parametrize("uri", [None, ""])
def test_fetch_task_metadata_outside_ecs_is_empty(uri):
    assert task_metadata.fetch_task_metadata(uri) == task_metadata.TaskMetadata()


def test_fetch_task_metadata_error_is_empty(monkeypatch):
    def boom(url, timeout):
        raise requests.ConnectionError("nope")

    monkeypatch.setattr(requests, "get", boom)

    assert task_metadata.fetch_task_metadata("http://x") == task_metadata.TaskMetadata()
