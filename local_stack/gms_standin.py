"""A DataHub GMS stand-in: a real HTTP server that answers the GMS routes this project and DataHub's CLI use.

`executor_common.gms.GmsClient`, DataHub's `DataHubGraph` / `DatahubRestEmitter` and the
`datahub ingest` datahub-rest sink all work against it unchanged. Every proposal is
validated with DataHub's own schema classes (422 when GMS would refuse it), every aspect
is stored with its history, and fault knobs (`fail_next`, `delay_seconds`,
`max_body_bytes`) let tests prove the retry paths. Routes answer both under `/gms` (as
behind DataHub's frontend) and without the prefix.

    python -m local_stack.gms_standin --port 8080 --token X --state-file .local/gms.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import socket
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local_stack.gms_page import RunRow, render_page
from local_stack.gms_routes import GmsAnswer, GmsRoutes, error_body
from local_stack.gms_store import EXECUTION_REQUEST_ENTITY, RESULT_ASPECT, AspectStore, Proposal, validate_aspect

logger = logging.getLogger(__name__)

GMS_PREFIX = "/gms"
PAGE_MAX_RUNS = 200


class GmsStandIn:
    """The stand-in: start() it, point clients at `.url`, inspect what it received."""

    def __init__(
        self,
        token: str = "test-token",  # noqa: S107 - a test double's well-known default
        state_file: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.store = AspectStore(state_file)
        self.routes = GmsRoutes(self.store)
        self.requests: list[dict[str, Any]] = []
        self.delay_seconds: float = 0.0
        self.max_body_bytes: int | None = None
        #: `.requests` keeps only this many (the oldest are dropped) so a long `local-up` stays small.
        self.max_recorded_requests = 10_000
        self._failures: list[list[Any]] = []  # [remaining, status, path_contains]
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> GmsStandIn:
        self.store.load()
        server = ThreadingHTTPServer((self.host, self.port), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"gms-standin-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop kept-alive connections, so no client talks to a stopped instance."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.store.close()

    def __enter__(self) -> GmsStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{GMS_PREFIX}"

    @property
    def page_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    # -- fault knobs ----------------------------------------------------------------
    def fail_next(self, n: int, status: int = 500, *, path_contains: str | None = None) -> None:
        """The next `n` authenticated requests (only those whose path+query contains `path_contains`,
        when given) are answered with `status` instead of being served."""
        with self._lock:
            self._failures.append([n, status, path_contains])

    def _take_failure(self, target: str) -> int | None:
        with self._lock:
            for failure in self._failures:
                remaining, status, contains = failure
                if remaining > 0 and (contains is None or contains in target):
                    failure[0] -= 1
                    self._failures = [f for f in self._failures if f[0] > 0]
                    return int(status)
        return None

    # -- inspection -----------------------------------------------------------------
    def result(self, urn: str) -> dict[str, Any] | None:
        """The latest `dataHubExecutionRequestResult` aspect written for `urn`."""
        return self.store.aspect(urn, RESULT_ASPECT)

    def history(self, urn: str) -> list[dict[str, Any]]:
        """Every `dataHubExecutionRequestResult` written for `urn`, oldest first."""
        return self.store.history(urn, RESULT_ASPECT)

    def statuses(self, urn: str) -> list[str]:
        return [entry.get("status") for entry in self.history(urn)]

    def aspect(self, urn: str, aspect_name: str) -> Any | None:
        return self.store.aspect(urn, aspect_name)

    def aspects(self, urn: str) -> dict[str, Any]:
        """Latest value of every aspect of `urn`, by aspect name."""
        return self.store.aspects(urn)

    def urns(self, entity_type: str | None = None) -> list[str]:
        """Urns of stored entities (optionally of one entity type), newest first."""
        return self.store.urns(entity_type)

    @property
    def proposals(self) -> int:
        """How many proposals were accepted since the state began."""
        return self.store.proposals

    def seed_result(self, urn: str, aspect_dict: dict[str, Any]) -> None:
        """Store a result as if some earlier writer had sent it (validated like any proposal)."""
        validate_aspect(RESULT_ASPECT, aspect_dict)
        self.store.apply([Proposal(EXECUTION_REQUEST_ENTITY, urn, "UPSERT", RESULT_ASPECT, aspect_dict)])

    def wait_for_status(self, urn: str, statuses: str | Iterable[str], timeout: float = 30.0) -> dict[str, Any]:
        """Block until the result of `urn` has one of `statuses`; TimeoutError naming the last one seen."""
        wanted = {statuses} if isinstance(statuses, str) else {str(s) for s in statuses}
        deadline = time.monotonic() + timeout
        with self.store.changed:
            while True:
                current = self.result(urn)
                if current is not None and current.get("status") in wanted:
                    return current
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = None if current is None else current.get("status")
                    raise TimeoutError(f"{urn} did not reach {sorted(wanted)} in {timeout}s (last status: {seen})")
                self.store.changed.wait(min(left, 0.5))

    def clear_requests(self) -> None:
        """Forget the recorded requests (the stored aspects stay)."""
        with self._lock:
            self.requests.clear()

    def requests_to(self, path: str, action: str | None = None) -> list[dict[str, Any]]:
        """Recorded requests for one route (path without the /gms prefix), optionally one `?action=`."""
        return [
            r
            for r in list(self.requests)
            if r["path"] == path and (action is None or r["query"].get("action") == action)
        ]

    def render_page(self) -> str:
        newest = self.urns(EXECUTION_REQUEST_ENTITY)[:PAGE_MAX_RUNS]
        rows = [RunRow.from_aspects(urn, self.aspects(urn)) for urn in newest]
        return render_page(rows)


def _make_handler(standin: GmsStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes: avoid a 40 ms delayed-ACK stall
        server_version = "GmsStandIn/1.0"
        timeout = 60

        def setup(self) -> None:
            super().setup()
            with standin._lock:
                standin._connections.add(self.connection)

        def finish(self) -> None:
            with standin._lock:
                standin._connections.discard(self.connection)
            super().finish()

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("gms-standin %s", format % args)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

        def _handle(self, method: str) -> None:
            split = urlsplit(self.path)
            path = split.path
            if path == GMS_PREFIX or path.startswith(GMS_PREFIX + "/"):
                path = path[len(GMS_PREFIX) :]
            path = path or "/"
            query = dict(parse_qsl(split.query, keep_blank_values=True))
            raw = self._read_body()
            authenticated = self.headers.get("Authorization") == f"Bearer {standin.token}"
            record: dict[str, Any] = {
                "method": method,
                "path": path,
                "raw_path": split.path,
                "query": query,
                "headers": _redacted(self.headers.items()),
                "authenticated": authenticated,
                "body": _decode(raw),
                "time": time.time(),
            }
            with standin._lock:
                standin.requests.append(record)
                if len(standin.requests) > standin.max_recorded_requests:
                    del standin.requests[: len(standin.requests) - standin.max_recorded_requests]
            status, payload = self._serve(method, path, split.query, query, raw, record["body"], authenticated)
            record["status"] = status
            if isinstance(payload, str):
                self._send(status, payload.encode(), "text/html; charset=utf-8")
            else:
                self._send(status, json.dumps(payload).encode(), "application/json")

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers, then the blank line
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()

        def _serve(
            self,
            method: str,
            path: str,
            raw_query: str,
            query: dict[str, str],
            raw: bytes,
            body: Any,
            authenticated: bool,
        ) -> tuple[int, Any]:
            if method == "GET" and path == "/health":
                return 200, {"status": "ok"}
            if method == "GET" and path == "/":
                return 200, standin.render_page()
            if not authenticated:
                return 401, error_body(401, "Unauthorized: a valid 'Authorization: Bearer <token>' is required")
            if standin.delay_seconds > 0:
                time.sleep(standin.delay_seconds)
            if standin.max_body_bytes is not None and len(raw) > standin.max_body_bytes:
                return 413, error_body(413, f"Request body of {len(raw)} bytes exceeds {standin.max_body_bytes}")
            failure = standin._take_failure(f"{path}?{raw_query}")
            if failure is not None:
                return failure, error_body(failure, f"Injected failure (HTTP {failure})")
            try:
                return standin.routes.handle(method, path, query, body)
            except GmsAnswer as answer:
                return answer.status, error_body(answer.status, answer.message)
            except Exception as exc:
                logger.exception("gms-standin: %s %s failed", method, path)
                return 500, error_body(500, f"{type(exc).__name__}: {exc}")

        def _send(self, status: int, data: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-RestLi-Protocol-Version", "2.0.0")
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _redacted(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as recorded: the credential is never kept (`authenticated` says whether it was right)."""
    return {k: ("Bearer ********" if k.lower() == "authorization" else v) for k, v in headers}


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local_stack.gms_standin", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--token", default="test-token")
    parser.add_argument("--state-file", default=None, help="persist aspects here (JSON) and reload them on start")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    standin = GmsStandIn(token=args.token, state_file=args.state_file, host=args.host, port=args.port).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    logger.info("GMS stand-in at %s (page: %s)", standin.url, standin.page_url)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()


if __name__ == "__main__":
    main()
