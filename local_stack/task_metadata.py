"""The ECS task metadata endpoint v4, served locally so each runner learns its task ARN and limits.

On Fargate every container gets `ECS_CONTAINER_METADATA_URI_V4`; `GET ${it}/task` answers with the
task's ARN, cluster, family and `Limits` (CPU in vCPU, Memory in MiB). The local agent registers
each task here before starting its container and passes that variable, as the ECS agent does.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def task_metadata(task: dict[str, Any], task_definition: dict[str, Any]) -> dict[str, Any]:
    """The `/task` document of one task (a DescribeTasks entry) in the v4 shape (the fields runners read)."""
    overrides = task.get("overrides") or {}
    cpu_units = overrides.get("cpu") or task.get("cpu") or task_definition.get("cpu")
    memory = overrides.get("memory") or task.get("memory") or task_definition.get("memory")
    limits: dict[str, Any] = {}
    if cpu_units:
        limits["CPU"] = int(cpu_units) / 1024
    if memory:
        limits["Memory"] = int(memory)
    return {
        "Cluster": task.get("clusterArn"),
        "TaskARN": task["taskArn"],
        "Family": task_definition.get("family"),
        "Revision": str(task_definition.get("revision", "")),
        "DesiredStatus": "RUNNING",
        "KnownStatus": "RUNNING",
        "Limits": limits,
        "LaunchType": "FARGATE",
        "AvailabilityZone": "us-east-1a",
        "Containers": [
            {"Name": c.get("name"), "Image": c.get("image"), "KnownStatus": "RUNNING"}
            for c in task_definition.get("containerDefinitions", [])
        ],
    }


class TaskMetadataServer:
    """`http://127.0.0.1:<port>/v4/<task-id>` per task; `/task` and the container document at the root."""

    def __init__(self) -> None:
        self._documents: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> TaskMetadataServer:
        documents, lock = self._documents, self._lock

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = [p for p in self.path.split("?")[0].split("/") if p]
                with lock:
                    document = documents.get(parts[1]) if len(parts) >= 2 and parts[0] == "v4" else None
                if document is None:
                    self.send_error(404)
                    return
                body = document if parts[2:] == ["task"] else document["Containers"][0] | {"Limits": document["Limits"]}
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="task-metadata", daemon=True).start()
        return self

    def register(self, task_id: str, document: dict[str, Any]) -> str:
        """Serve `document` for the task; returns its `ECS_CONTAINER_METADATA_URI_V4`."""
        assert self._server is not None
        with self._lock:
            self._documents[task_id] = document
        return f"http://127.0.0.1:{self._server.server_address[1]}/v4/{task_id}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
