"""What a local task's subnets cannot reach: its connections there time out, everything else still connects."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack.agent import LocalEcsAgent
from local_stack.moto_server import LocalAws

PROBE = """
import socket, sys
for port in sys.argv[1:]:
    try:
        socket.create_connection(("127.0.0.1", int(port)), timeout=5).close()
        print(port, "connected")
    except OSError as exc:
        print(port, type(exc).__name__, exc)
"""


@pytest.fixture
def two_listeners() -> Iterator[tuple[int, int]]:
    servers = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
    try:
        yield servers[0].getsockname()[1], servers[1].getsockname()[1]
    finally:
        for server in servers:
            server.close()


def test_task_process_times_out_to_an_unreachable_url_and_reaches_the_rest(
    two_listeners: tuple[int, int], tmp_path: Path
) -> None:
    # GIVEN an agent whose tasks cannot reach the "GMS" listener (and can reach the other one)
    gms, other = two_listeners
    agent = LocalEcsAgent(
        LocalAws("http://127.0.0.1:1"),
        "cluster",
        log_dir=tmp_path,
        publish=lambda event: None,
        unreachable=[f"http://127.0.0.1:{gms}/gms"],
    )

    # WHEN a process runs with the environment the agent gives a task's container
    env = agent._process_environment({"DATAHUB_GMS_URL": f"http://127.0.0.1:{gms}/gms"})
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(gms), str(other)], env=env, capture_output=True, text=True, timeout=60
    )

    # THEN its connection to GMS times out as a dropped SYN does, and the other one connects
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines[str(gms)].startswith("TimeoutError"), done.stdout + done.stderr
    assert "no route from the task" in lines[str(gms)]
    assert lines[str(other)] == "connected"
    # AND the task's own settings are untouched: it was given the real URL
    assert env["DATAHUB_GMS_URL"] == f"http://127.0.0.1:{gms}/gms"


def test_task_process_without_unreachable_destinations_gets_no_network_stand_in(tmp_path: Path) -> None:
    agent = LocalEcsAgent(LocalAws("http://127.0.0.1:1"), "cluster", log_dir=tmp_path, publish=lambda event: None)

    env = agent._process_environment({})

    assert "task_network" not in env["PYTHONPATH"] and "LOCAL_TASK_UNREACHABLE" not in env
