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
from urllib.parse import parse_qsl, unquote, urlsplit

from local_stack.gms_page import RunRow, render_page
from local_stack.gms_store import (
    EXECUTION_REQUEST_ENTITY,
    JSON_CONTENT_TYPE,
    PATCH_CONTENT_TYPE,
    RESULT_ASPECT,
    AspectStore,
    Proposal,
    ProposalError,
    is_timeseries,
    parse_proposal,
    record_name,
    validate_aspect,
)

logger = logging.getLogger(__name__)

GMS_PREFIX = "/gms"
#: What GMS answers on /config, trimmed to what DataHub's clients read. `noCode` proves this is GMS
#: (not the frontend); telemetry is off so the CLI never phones home from tests.
SERVER_CONFIG: dict[str, Any] = {
    "models": {},
    "patchCapable": True,
    "versions": {"acryldata/datahub": {"version": "v1.3.0", "commit": "gms-standin"}},
    "managedIngestion": {"defaultCliVersion": "1.7.0.17", "enabled": True},
    "statefulIngestionCapable": True,
    "supportsImpactAnalysis": False,
    "timeZone": "GMT",
    "telemetry": {"enabledCli": False, "enabledIngestion": False},
    "datasetUrnNameCasing": False,
    "retention": "true",
    "datahub": {"serverType": "dev", "serverEnv": "core"},
    "noCode": "true",
}
RESTLI_EXCEPTION = "com.linkedin.restli.server.RestLiServiceException"
OPENAPI_ENTITY = "/openapi/v3/entity/"


class _Answer(Exception):
    """Raised inside a route to answer with an HTTP error in rest.li's error shape."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


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
        rows = [RunRow.from_aspects(urn, self.aspects(urn)) for urn in self.urns(EXECUTION_REQUEST_ENTITY)]
        return render_page(rows)

    # -- routes ---------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if method == "GET" and path == "/config":
            return 200, SERVER_CONFIG
        if path == "/aspects" and method == "POST":
            return self._aspects_action(query.get("action"), body)
        if path.startswith("/aspects/") and method == "GET":
            return self._get_aspect(unquote(path[len("/aspects/") :]), query)
        if path.startswith("/entitiesV2/") and method == "GET":
            return self._get_entity_v2(unquote(path[len("/entitiesV2/") :]), query)
        if path == "/entities" and method == "POST":
            return self._entities_action(query.get("action"), body)
        if path.startswith(OPENAPI_ENTITY):
            return self._openapi_entity(method, path[len(OPENAPI_ENTITY) :].split("/", 2), query, body)
        raise _Answer(404, f"No resource for {method} {path}")

    def _openapi_entity(self, method: str, parts: list[str], query: dict[str, str], body: Any) -> tuple[int, Any]:
        """OpenAPI v3 `/openapi/v3/entity/{entityName}[/{urn}[/{aspectName}]]`: what the SDK mode of
        DataHub's emitter writes through, and the lookups some ingestion plugins make."""
        entity_name = parts[0]
        urn = unquote(parts[1]) if len(parts) > 1 else None
        if urn is None and method in ("POST", "PATCH"):
            proposals = self._openapi_proposals(entity_name, body, "PATCH" if method == "PATCH" else "UPSERT")
            self.store.apply(proposals)
            items = [{"urn": p.entity_urn, p.aspect_name: {"value": p.aspect}} for p in proposals]
            return (202 if query.get("async") == "true" else 200), items
        if urn is None and method == "GET":
            # Scroll: a filtered search is out of scope, so only an unfiltered one lists anything.
            listed = [] if query.get("query", "*") != "*" else self.urns(entity_name)
            return 200, {"entities": [self._openapi_view(u, None) for u in listed], "scrollId": None}
        if urn is not None and method == "DELETE":
            self.store.delete_entity(urn)
            return 200, {}
        if urn is not None and method == "GET":
            if len(parts) == 3:
                value = self.store.aspect(urn, parts[2])
                if value is None:
                    raise _Answer(404, f"Aspect {parts[2]} of {urn} not found")
                return 200, {"value": value, "systemMetadata": {}}
            if not self.store.aspects(urn):
                raise _Answer(404, f"Entity {urn} not found")
            wanted = [a for a in query.get("aspects", "").split(",") if a] or None
            return 200, self._openapi_view(urn, wanted)
        raise _Answer(405, f"{method} is not supported on /openapi/v3/entity/{'/'.join(parts)}")

    def _openapi_view(self, urn: str, aspect_names: list[str] | None) -> dict[str, Any]:
        stored = self.store.aspects(urn)
        names = aspect_names if aspect_names is not None else list(stored)
        return {"urn": urn, **{n: {"value": stored[n], "systemMetadata": {}} for n in names if n in stored}}

    def _openapi_proposals(self, entity_name: str, body: Any, change_type: str) -> list[Proposal]:
        if not isinstance(body, list):
            raise _Answer(400, "The body must be a list of {urn, <aspectName>: {value, systemMetadata}}")
        proposals = []
        for index, item in enumerate(body):
            if not isinstance(item, dict) or not isinstance(item.get("urn"), str):
                raise _Answer(422, f"[{index}]: each item needs a urn")
            for aspect_name, wrapper in item.items():
                if aspect_name == "urn":
                    continue
                if not isinstance(wrapper, dict) or "value" not in wrapper:
                    raise _Answer(422, f"[{index}].{aspect_name}: must be {{value, systemMetadata}}")
                patch = change_type == "PATCH"
                raw = {
                    "entityType": entity_name,
                    "entityUrn": item["urn"],
                    "changeType": change_type,
                    "aspectName": aspect_name,
                    "aspect": {
                        "value": json.dumps(wrapper["value"]),
                        "contentType": PATCH_CONTENT_TYPE if patch else JSON_CONTENT_TYPE,
                    },
                }
                proposals.append(self._parse(raw, index))
        return proposals

    def _aspects_action(self, action: str | None, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict):
            raise _Answer(400, "Request body must be a JSON object")
        if action == "ingestProposal":
            proposal = self._parse(body.get("proposal"))
            self.store.apply([proposal])
            return 200, {"value": proposal.entity_urn}
        if action == "ingestProposalBatch":
            raw = body.get("proposals")
            if not isinstance(raw, list):
                raise _Answer(400, "proposals must be a list")
            proposals = [self._parse(p, index) for index, p in enumerate(raw)]
            self.store.apply(proposals)
            return 200, {"value": [p.entity_urn for p in proposals]}
        if action == "getTimeseriesAspectValues":
            return 200, self._timeseries_values(body)
        raise _Answer(400, f"Unknown action {action!r} on /aspects")

    @staticmethod
    def _parse(raw: Any, index: int | None = None) -> Proposal:
        try:
            return parse_proposal(raw)
        except ProposalError as exc:
            where = "" if index is None else f"proposals[{index}]: "
            raise _Answer(422, f"{where}{exc}") from None

    def _get_aspect(self, urn: str, query: dict[str, str]) -> tuple[int, Any]:
        aspect_name = query.get("aspect")
        if not aspect_name:
            raise _Answer(400, "Query parameter 'aspect' is required")
        try:
            name = record_name(aspect_name)
            version = int(query.get("version", "0"))
        except (KeyError, ValueError):
            raise _Answer(400, f"Unknown aspect {aspect_name!r} or bad version") from None
        value = self.store.aspect(urn, aspect_name, version)
        if value is None:
            raise _Answer(404, f"Aspect {aspect_name} of {urn} not found")
        return 200, {"aspect": {name: value}, "version": version}

    def _get_entity_v2(self, urn: str, query: dict[str, str]) -> tuple[int, Any]:
        stored = self.store.aspects(urn)
        if not stored:
            raise _Answer(404, f"Entity {urn} not found")
        wanted = query.get("aspects", "")
        names = [n for n in wanted.removeprefix("List(").removesuffix(")").split(",") if n] or list(stored)
        aspects = {
            name: {"name": name, "type": "VERSIONED", "version": 0, "value": stored[name]}
            for name in names
            if name in stored
        }
        return 200, {"urn": urn, "entityName": urn.split(":")[2], "aspects": aspects}

    def _entities_action(self, action: str | None, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict):
            raise _Answer(400, "Request body must be a JSON object")
        if action == "delete":
            urn = body.get("urn")
            if not isinstance(urn, str):
                raise _Answer(400, "urn is required")
            return 200, {"value": {"urn": urn, "rows": 1 if self.store.delete_entity(urn) else 0}}
        if action == "ingest":
            self.store.apply(self._snapshot_proposals(body.get("entity")))
            return 200, {}
        raise _Answer(400, f"Unknown action {action!r} on /entities")

    def _snapshot_proposals(self, entity: Any) -> list[Proposal]:
        """A MetadataChangeEvent snapshot (`/entities?action=ingest`) as the proposals it stands for."""
        snapshot = entity.get("value") if isinstance(entity, dict) else None
        if not isinstance(snapshot, dict) or len(snapshot) != 1:
            raise _Answer(422, "entity.value must hold exactly one snapshot")
        (body,) = snapshot.values()
        urn = body.get("urn") if isinstance(body, dict) else None
        if not isinstance(urn, str):
            raise _Answer(422, "the snapshot has no urn")
        names = _aspect_names_by_record()
        proposals = []
        for union in body.get("aspects") or []:
            if not isinstance(union, dict) or len(union) != 1:
                raise _Answer(422, "each snapshot aspect must be a one-key union")
            ((record, value),) = union.items()
            if record not in names:
                raise _Answer(422, f"Unknown aspect record {record!r}")
            raw = {
                "entityType": urn.split(":")[2] if urn.count(":") >= 3 else "",
                "entityUrn": urn,
                "changeType": "UPSERT",
                "aspectName": names[record],
                "aspect": {"value": json.dumps(value), "contentType": "application/json"},
            }
            proposals.append(self._parse(raw))
        return proposals

    def _timeseries_values(self, body: dict[str, Any]) -> dict[str, Any]:
        urn, aspect_name = body.get("urn"), body.get("aspect")
        if not isinstance(urn, str) or not isinstance(aspect_name, str):
            raise _Answer(400, "urn and aspect are required")
        if not is_timeseries(aspect_name):
            raise _Answer(400, f"{aspect_name} is not a timeseries aspect")
        limit = int(body.get("limit") or 10_000)
        equal = _equal_criteria(body.get("filter"))
        matching = [v for v in self.store.history(urn, aspect_name) if all(v.get(k) == x for k, x in equal.items())]
        matching.reverse()  # newest first, as GMS sorts by timestampMillis descending
        matching.sort(key=lambda v: v.get("timestampMillis") or 0, reverse=True)
        values = matching[:limit]
        return {
            "value": {
                "entityName": urn.split(":")[2],
                "aspectName": aspect_name,
                "limit": limit,
                "values": [
                    {"aspect": {"value": json.dumps(v), "contentType": "application/json"}, "systemMetadata": {}}
                    for v in values
                ],
            }
        }


def _equal_criteria(search_filter: Any) -> dict[str, Any]:
    """The EQUAL criteria of a rest.li search filter (`{"or": [{"and": [...]}]}`); others are not applied."""
    criteria: dict[str, Any] = {}
    for conjunction in (search_filter or {}).get("or") or []:
        for criterion in conjunction.get("and") or []:
            if criterion.get("condition", "EQUAL") == "EQUAL" and criterion.get("values"):
                criteria[criterion["field"]] = criterion["values"][0]
    return criteria


def _aspect_names_by_record() -> dict[str, str]:
    from datahub.metadata.schema_classes import ASPECT_CLASSES

    return {cls.RECORD_SCHEMA.fullname.replace(".pegasus2avro", ""): cls.ASPECT_NAME for cls in ASPECT_CLASSES}


def _error_body(status: int, message: str) -> dict[str, Any]:
    return {"exceptionClass": RESTLI_EXCEPTION, "stackTrace": "", "message": message, "status": status}


def _make_handler(standin: GmsStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
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
            record: dict[str, Any] = {
                "method": method,
                "path": path,
                "raw_path": split.path,
                "query": query,
                "headers": dict(self.headers.items()),
                "body": _decode(raw),
                "time": time.time(),
            }
            with standin._lock:
                standin.requests.append(record)
                if len(standin.requests) > standin.max_recorded_requests:
                    del standin.requests[: len(standin.requests) - standin.max_recorded_requests]
            status, payload = self._serve(method, path, split.query, query, raw, record["body"])
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
            self, method: str, path: str, raw_query: str, query: dict[str, str], raw: bytes, body: Any
        ) -> tuple[int, Any]:
            if method == "GET" and path == "/health":
                return 200, {"status": "ok"}
            if method == "GET" and path == "/":
                return 200, standin.render_page()
            if self.headers.get("Authorization") != f"Bearer {standin.token}":
                return 401, _error_body(401, "Unauthorized: a valid 'Authorization: Bearer <token>' is required")
            if standin.delay_seconds > 0:
                time.sleep(standin.delay_seconds)
            if standin.max_body_bytes is not None and len(raw) > standin.max_body_bytes:
                return 413, _error_body(413, f"Request body of {len(raw)} bytes exceeds {standin.max_body_bytes}")
            failure = standin._take_failure(f"{path}?{raw_query}")
            if failure is not None:
                return failure, _error_body(failure, f"Injected failure (HTTP {failure})")
            try:
                return standin._route(method, path, query, body)
            except _Answer as answer:
                return answer.status, _error_body(answer.status, answer.message)
            except Exception as exc:
                logger.exception("gms-standin: %s %s failed", method, path)
                return 500, _error_body(500, f"{type(exc).__name__}: {exc}")

        def _send(self, status: int, data: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-RestLi-Protocol-Version", "2.0.0")
            self.end_headers()
            self.wfile.write(data)

    return Handler


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
