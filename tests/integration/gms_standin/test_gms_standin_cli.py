"""`python -m local_stack.gms_standin` runs the stand-in in the foreground and keeps its state on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from executor_common.gms import GmsClient
from executor_common.results import ExecutionRequestResult

from tests.conftest import unused_local_port


def _wait_healthy(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} never became healthy")


def test_cli_serves_until_sigterm_and_persists_state(tmp_path: Path, repo_root: Path) -> None:
    port, state_file = unused_local_port(), tmp_path / "gms.json"
    command = [sys.executable, "-m", "local_stack.gms_standin", "--port", str(port), "--token", "cli-token"]
    process = subprocess.Popen(
        [*command, "--state-file", str(state_file)],
        cwd=repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/gms"
        _wait_healthy(url)
        urn = "urn:li:dataHubExecutionRequest:cli-1"
        GmsClient(url, "cli-token", session_retries=0).write_result(urn, ExecutionRequestResult(status="SUCCESS"))
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)

    assert process.returncode == 0, output
    assert "GMS stand-in at" in output
    assert "cli-token" not in output
    state = json.loads(state_file.read_text())
    assert state["entities"][urn]["aspects"]["dataHubExecutionRequestResult"] == [{"status": "SUCCESS"}]
