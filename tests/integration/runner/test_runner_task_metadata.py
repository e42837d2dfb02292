"""Inside ECS: the kickoff names the task, from the task metadata endpoint v4."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from runner_harness import child, make_spec

TASK_ARN = "arn:aws:ecs:eu-west-1:123456789012:task/datahub-executor/0f1e2d3c4b5a69788796a5b4c3d2e1f0"


class _Metadata(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"TaskARN": TASK_ARN, "Limits": {"CPU": 1, "Memory": 4096}}).encode()
        self.send_response(200 if self.path.endswith("/task") else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def metadata_uri():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Metadata)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v4/container-id"
    server.shutdown()


def test_runner_kickoff_names_the_ecs_task(runner, gms_standin, metadata_uri):
    spec = make_spec("metadata-1")
    extra = {
        "ECS_CONTAINER_METADATA_URI_V4": metadata_uri,
        "RUNNER_CHILD_COMMAND": json.dumps(child("exit_code.py", "0")),
    }

    result = runner.run(spec, extra)

    assert result.returncode == 0, result.stderr
    kickoff = gms_standin.history(spec.execution_request_urn)[0]
    assert kickoff["status"] == "RUNNING"
    assert TASK_ARN in kickoff["report"]
    assert kickoff["startTimeMs"] == gms_standin.result(spec.execution_request_urn)["startTimeMs"]
