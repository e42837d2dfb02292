"""The ECS task metadata endpoint v4, served locally so each runner learns its task ARN and limits.

On Fargate every container gets `ECS_CONTAINER_METADATA_URI_V4`; `GET ${it}/task` answers with the
task's ARN, cluster, family and `Limits` (CPU in vCPU, Memory in MiB). The local agent registers
each task here before starting its container and passes that variable, as the ECS agent does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


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
        self._server: BaseWSGIServer | None = None

    def start(self) -> TaskMetadataServer:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        threading.Thread(target=self._server.serve_forever, name="task-metadata", daemon=True).start()
        return self

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        parts = [p for p in Request(environ).path.split("/") if p]
        with self._lock:
            document = self._documents.get(parts[1]) if len(parts) >= 2 and parts[0] == "v4" else None
        if document is None:
            response = Response("Not Found", 404)
        else:
            body = document if parts[2:] == ["task"] else document["Containers"][0] | {"Limits": document["Limits"]}
            response = Response(json.dumps(body), 200, content_type="application/json")
        return response(environ, start_response)

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


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return
