"""A DataHub GMS stand-in: a real HTTP server that answers the GMS routes this project and DataHub's CLI use.

`executor_common.gms.GmsClient`, DataHub's `DataHubGraph` / `DatahubRestEmitter` and the
`datahub ingest` datahub-rest sink all work against it unchanged. Every proposal is
validated with DataHub's own schema classes (422 when GMS would refuse it), every aspect
is stored with its history, and fault knobs (`fail_next`, `delay_seconds`,
`max_body_bytes`) let tests prove the retry paths. Routes answer both under `/gms` (as
behind DataHub's frontend) and without the prefix. HTTP is werkzeug's (moto's server uses it too).

Authentication as GMS does it (`AuthenticationEnforcementFilter`): `/health` and `/config` need no
token; any other route without a valid token gets 401 and the servlet container's HTML error page,
and its body is never read. `token` has every privilege; `unprivileged_token` is a valid token whose
owner has none (403, as GMS's authorizer answers). The page at `/` needs no token: it is for the
local stack only (it lists URNs and report tails), never something to expose.

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
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from local_stack.gms_page import RunRow, render_page
from local_stack.gms_routes import (
    SERVER_CONFIG,
    GmsAnswer,
    GmsRoutes,
    error_body,
    forbidden_body,
    graphql_answer,
    servlet_error_page,
)
from local_stack.gms_store import (
    EXECUTION_REQUEST_ENTITY,
    INPUT_ASPECT,
    RESULT_ASPECT,
    AspectStore,
    Proposal,
    load_schema,
    validate_aspect,
)

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
        *,
        unprivileged_token: str = "no-privileges-token",  # noqa: S107 - a test double's well-known default
        secrets: Mapping[str, str] | None = None,
    ) -> None:
        self.token = token
        self.unprivileged_token = unprivileged_token
        self.host = host
        self.port = port
        self.store = AspectStore(state_file)
        self.routes = GmsRoutes(self.store)
        #: DataHub's secret store (Settings -> Secrets): name -> value, served by GraphQL `getSecretValues`.
        #: Kept in memory only: never persisted, recorded or shown.
        self.secrets: dict[str, str] = dict(secrets or {})
        self.requests: list[dict[str, Any]] = []
        self.delay_seconds: float = 0.0
        self.max_body_bytes: int | None = None
        #: `.requests` keeps only this many (the oldest are dropped) so a long `local-up` stays small.
        self.max_recorded_requests = 10_000
        self._failures: list[list[Any]] = []  # [remaining, status, path_contains]
        self._lock = threading.Lock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> GmsStandIn:
        self.store.load()
        load_schema()
        server = make_server(self.host, self.port, self.wsgi, threaded=True, request_handler=_handler_for(self))
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

    def end_failures(self) -> None:
        """Forget the failures `fail_next` has still to give: GMS is back (the end of an outage)."""
        with self._lock:
            self._failures = []

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

    def statuses(self, urn: str) -> list[str | None]:
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

    def seed_request(self, urn: str, request_input: dict[str, Any]) -> None:
        """Store the execution request's input as DataHub does before it sends the command (validated)."""
        validate_aspect(INPUT_ASPECT, request_input)
        self.store.apply([Proposal(EXECUTION_REQUEST_ENTITY, urn, "UPSERT", INPUT_ASPECT, request_input)])

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

    # -- HTTP -------------------------------------------------------------------------
    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """The WSGI application: who is calling first, then (only for a valid token) the body."""
        request = Request(environ)
        # The path as sent (still percent-encoded: a urn is one path segment), as GMS routes it.
        raw_path = urlsplit(environ.get("RAW_URI") or quote(request.path)).path
        path = raw_path
        if path == GMS_PREFIX or path.startswith(GMS_PREFIX + "/"):
            path = path[len(GMS_PREFIX) :]
        path = path or "/"
        principal = self._principal(request.headers.get("Authorization"))
        record: dict[str, Any] = {
            "method": request.method,
            "path": path,
            "raw_path": raw_path,
            "query": request.args.to_dict(),
            "headers": _redacted(request.headers.items()),
            "authenticated": principal is not None,
            "body": None,
            "time": time.time(),
        }
        with self._lock:
            self.requests.append(record)
            if len(self.requests) > self.max_recorded_requests:
                del self.requests[: len(self.requests) - self.max_recorded_requests]
        response = self._respond(request, path, principal, record)
        record["status"] = response.status_code
        return response(environ, start_response)

    def _principal(self, authorization: str | None) -> str | None:
        if authorization == f"Bearer {self.token}":
            return "admin"
        if authorization == f"Bearer {self.unprivileged_token}":
            return "unprivileged"
        return None

    def _respond(self, request: Request, path: str, principal: str | None, record: dict[str, Any]) -> Response:
        method = request.method
        if method == "GET" and path == "/health":
            return _json(200, {"status": "ok"})
        if method == "GET" and path == "/config":  # excluded from authentication in GMS
            return _json(200, SERVER_CONFIG)
        if method == "GET" and path == "/":  # the local page (see the module docstring)
            return Response(self.render_page(), 200, content_type="text/html; charset=utf-8")
        if principal is None:
            page = servlet_error_page(401, record["raw_path"])
            return Response(page, 401, content_type="text/html;charset=iso-8859-1")
        if self.delay_seconds > 0:
            time.sleep(self.delay_seconds)
        raw = request.get_data()
        record["body"] = _decode(raw)
        if self.max_body_bytes is not None and len(raw) > self.max_body_bytes:
            return _json(413, error_body(413, f"Request body of {len(raw)} bytes exceeds {self.max_body_bytes}"))
        target = f"{path}?{request.query_string.decode()}"
        failure = self._take_failure(target)
        if failure is not None:
            return _json(failure, error_body(failure, f"Injected failure (HTTP {failure})"))
        if method == "POST" and path == "/api/graphql":
            return _json(200, graphql_answer(record["body"], self.secrets, privileged=principal == "admin"))
        if principal != "admin":
            return _json(403, forbidden_body(method, path))
        try:
            status, payload = self.routes.handle(method, path, record["query"], record["body"])
        except GmsAnswer as answer:
            return _json(answer.status, error_body(answer.status, answer.message))
        except Exception as exc:
            logger.exception("gms-standin: %s %s failed", method, path)
            return _json(500, error_body(500, f"{type(exc).__name__}: {exc}"))
        return _json(status, payload)


def _json(status: int, payload: Any) -> Response:
    response = Response(json.dumps(payload), status, content_type="application/json")
    response.headers["X-RestLi-Protocol-Version"] = "2.0.0"
    return response


def _handler_for(standin: GmsStandIn) -> type[WSGIRequestHandler]:
    """werkzeug's handler, quiet, and tracking connections so `stop()` can drop kept-alive ones."""

    class Handler(WSGIRequestHandler):
        def setup(self) -> None:
            super().setup()
            with standin._lock:
                standin._connections.add(self.connection)

        def finish(self) -> None:
            with standin._lock:
                standin._connections.discard(self.connection)
            super().finish()

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            logger.debug("gms-standin %s %s", self.requestline, code)

    return Handler


class RecordedHeaders(dict[str, str]):
    """A request's headers as recorded: plain JSON-able dict, names looked up case-insensitively (as in HTTP)."""

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


def _redacted(headers: Iterable[tuple[str, str]]) -> RecordedHeaders:
    """The credential is never kept (`authenticated` says whether it was right)."""
    return RecordedHeaders({k.lower(): ("Bearer ********" if k.lower() == "authorization" else v) for k, v in headers})


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
    parser.add_argument("--secret", action="append", default=[], metavar="NAME=VALUE", help="a DataHub secret")
    args = parser.parse_args(argv)
    secrets = dict(item.split("=", 1) for item in args.secret)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    standin = GmsStandIn(
        token=args.token, state_file=args.state_file, host=args.host, port=args.port, secrets=secrets
    ).start()
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
