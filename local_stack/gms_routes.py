"""The GMS routes the stand-in serves, as plain functions of (method, path, query, body) over an AspectStore.

Answers follow GMS: rest.li for `/aspects`, `/entities`, `/entitiesV2`; OpenAPI v3 for
`/openapi/v3/entity/...`. Validation failures are 422, unknown routes 404, both in
rest.li's error shape (which DataHub's emitter reads its message from).
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any
from urllib.parse import unquote

from local_stack.gms_store import (
    JSON_CONTENT_TYPE,
    PATCH_CONTENT_TYPE,
    AspectStore,
    Proposal,
    ProposalError,
    is_timeseries,
    parse_proposal,
    record_name,
)

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


class GmsAnswer(Exception):
    """Raised inside a route to answer with an HTTP error in rest.li's error shape."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"exceptionClass": RESTLI_EXCEPTION, "stackTrace": "", "message": message, "status": status}


#: What GMS's authentication filter answers (`response.sendError(SC_UNAUTHORIZED, ...)`).
UNAUTHORIZED_MESSAGE = "Unauthorized to perform this action."
#: What GMS's GraphQL resolvers raise (`AuthorizationException`) when the actor lacks a privilege.
GRAPHQL_UNAUTHORIZED = "Unauthorized to perform this action. Please contact your DataHub administrator."


def servlet_error_page(status: int, uri: str, message: str = UNAUTHORIZED_MESSAGE) -> str:
    """The HTML error page GMS's servlet container (Jetty) renders for `sendError`: not JSON."""
    text = escape(message)
    return (
        '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>\n'
        f"<title>Error {status} {text}</title>\n</head>\n<body>\n<h2>HTTP ERROR {status} {text}</h2>\n<table>\n"
        f"<tr><th>URI:</th><td>{escape(uri)}</td></tr>\n<tr><th>STATUS:</th><td>{status}</td></tr>\n"
        f"<tr><th>MESSAGE:</th><td>{text}</td></tr>\n<tr><th>SERVLET:</th><td>restliRequestHandler</td></tr>\n"
        "</table>\n</body>\n</html>\n"
    )


def forbidden_body(method: str, path: str) -> dict[str, Any]:
    """GMS's 403 for a valid token whose owner lacks the privilege (rest.li's error shape)."""
    verb = "get" if method == "GET" else "modify"
    return error_body(403, f"User is unauthorized to {verb} entity: {path}")


_INLINE_SECRETS = re.compile(r"getSecretValues\s*\(\s*input\s*:\s*\{\s*secrets\s*:\s*(\[[^\]]*\])")


def graphql_answer(body: Any, secrets: dict[str, str], *, privileged: bool) -> dict[str, Any]:
    """GMS's GraphQL answer (HTTP 200) to `getSecretValues`, the one query any product path or DataHub client
    sends here: the values of the named secrets that exist (others are omitted, as GMS omits them), or the
    resolver's authorization error when the token's owner lacks MANAGE_SECRETS."""
    query = body.get("query") if isinstance(body, dict) else None
    if not isinstance(query, str) or "getSecretValues" not in query:
        return {"errors": [{"message": "Validation error: the stand-in serves only getSecretValues"}]}
    if not privileged:
        error = {
            "message": GRAPHQL_UNAUTHORIZED,
            "path": ["getSecretValues"],
            "extensions": {"code": 403, "type": "UNAUTHORIZED", "classification": "DataFetchingException"},
        }
        return {"errors": [error], "data": {"getSecretValues": None}}
    names = _secret_names(query, body.get("variables"))
    if names is None:
        return {"errors": [{"message": "Validation error: getSecretValues needs input: {secrets: [String!]!}"}]}
    found = [{"name": name, "value": secrets[name]} for name in dict.fromkeys(names) if name in secrets]
    return {"data": {"getSecretValues": found}}


def _secret_names(query: str, variables: Any) -> list[str] | None:
    if isinstance(variables, dict) and isinstance(variables.get("input"), dict):
        names = variables["input"].get("secrets")
    else:
        inline = _INLINE_SECRETS.search(query)
        try:
            names = json.loads(inline.group(1)) if inline else None
        except ValueError:
            names = None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        return None
    return names


class GmsRoutes:
    """Everything behind authentication: reads and writes of the store, shaped like GMS answers."""

    def __init__(self, store: AspectStore) -> None:
        self.store = store

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        """(status, JSON payload) for one authenticated request; `path` has no /gms prefix."""
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
        raise GmsAnswer(404, f"No resource for {method} {path}")

    def _openapi_entity(self, method: str, parts: list[str], query: dict[str, str], body: Any) -> tuple[int, Any]:
        """OpenAPI v3 `/openapi/v3/entity/{entityName}[/{urn}]`: what the SDK mode of DataHub's emitter
        writes and deletes through, and the scroll of platform resources some ingestion plugins make
        (`OpenApiClient.scroll_urns_by_filter`). Reads by urn are not served: no DataHub client makes them."""
        entity_name = parts[0]
        urn = unquote(parts[1]) if len(parts) > 1 else None
        if urn is None and method in ("POST", "PATCH"):
            proposals = self._openapi_proposals(entity_name, body, "PATCH" if method == "PATCH" else "UPSERT")
            self.store.apply(proposals)
            items = [{"urn": p.entity_urn, p.aspect_name: {"value": p.aspect}} for p in proposals]
            return (202 if query.get("async") == "true" else 200), items
        if urn is None and method == "GET":
            # Scroll: a filtered search is out of scope, so only an unfiltered one lists anything.
            listed = [] if query.get("query", "*") != "*" else self.store.urns(entity_name)
            return 200, {"entities": [self._openapi_view(u, None) for u in listed], "scrollId": None}
        if urn is not None and method == "DELETE":
            self.store.delete_entity(urn)
            return 200, {}
        raise GmsAnswer(405, f"{method} is not supported on /openapi/v3/entity/{'/'.join(parts)}")

    def _openapi_view(self, urn: str, aspect_names: list[str] | None) -> dict[str, Any]:
        stored = self.store.aspects(urn)
        names = aspect_names if aspect_names is not None else list(stored)
        return {"urn": urn, **{n: {"value": stored[n], "systemMetadata": {}} for n in names if n in stored}}

    def _openapi_proposals(self, entity_name: str, body: Any, change_type: str) -> list[Proposal]:
        if not isinstance(body, list):
            raise GmsAnswer(400, "The body must be a list of {urn, <aspectName>: {value, systemMetadata}}")
        proposals = []
        for index, item in enumerate(body):
            if not isinstance(item, dict) or not isinstance(item.get("urn"), str):
                raise GmsAnswer(422, f"[{index}]: each item needs a urn")
            for aspect_name, wrapper in item.items():
                if aspect_name == "urn":
                    continue
                if not isinstance(wrapper, dict) or "value" not in wrapper:
                    raise GmsAnswer(422, f"[{index}].{aspect_name}: must be {{value, systemMetadata}}")
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
            raise GmsAnswer(400, "Request body must be a JSON object")
        if action == "ingestProposal":
            proposal = self._parse(body.get("proposal"))
            self.store.apply([proposal])
            return 200, {"value": proposal.entity_urn}
        if action == "ingestProposalBatch":
            raw = body.get("proposals")
            if not isinstance(raw, list):
                raise GmsAnswer(400, "proposals must be a list")
            proposals = [self._parse(p, index) for index, p in enumerate(raw)]
            self.store.apply(proposals)
            return 200, {"value": [p.entity_urn for p in proposals]}
        if action == "getTimeseriesAspectValues":
            return 200, self._timeseries_values(body)
        raise GmsAnswer(400, f"Unknown action {action!r} on /aspects")

    @staticmethod
    def _parse(raw: Any, index: int | None = None) -> Proposal:
        try:
            return parse_proposal(raw)
        except ProposalError as exc:
            where = "" if index is None else f"proposals[{index}]: "
            raise GmsAnswer(422, f"{where}{exc}") from None

    def _get_aspect(self, urn: str, query: dict[str, str]) -> tuple[int, Any]:
        aspect_name = query.get("aspect")
        if not aspect_name:
            raise GmsAnswer(400, "Query parameter 'aspect' is required")
        try:
            name = record_name(aspect_name)
            version = int(query.get("version", "0"))
        except (KeyError, ValueError):
            raise GmsAnswer(400, f"Unknown aspect {aspect_name!r} or bad version") from None
        value = self.store.aspect(urn, aspect_name, version)
        if value is None:
            raise GmsAnswer(404, f"Aspect {aspect_name} of {urn} not found")
        return 200, {"aspect": {name: value}, "version": version}

    def _get_entity_v2(self, urn: str, query: dict[str, str]) -> tuple[int, Any]:
        stored = self.store.aspects(urn)  # GMS answers 200 with no aspects for an unknown entity, too
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
            raise GmsAnswer(400, "Request body must be a JSON object")
        if action == "delete":
            urn = body.get("urn")
            if not isinstance(urn, str):
                raise GmsAnswer(400, "urn is required")
            return 200, {"value": {"urn": urn, "rows": 1 if self.store.delete_entity(urn) else 0}}
        if action == "ingest":
            self.store.apply(self._snapshot_proposals(body.get("entity")))
            return 200, {}
        raise GmsAnswer(400, f"Unknown action {action!r} on /entities")

    def _snapshot_proposals(self, entity: Any) -> list[Proposal]:
        """A MetadataChangeEvent snapshot (`/entities?action=ingest`) as the proposals it stands for."""
        snapshot = entity.get("value") if isinstance(entity, dict) else None
        if not isinstance(snapshot, dict) or len(snapshot) != 1:
            raise GmsAnswer(422, "entity.value must hold exactly one snapshot")
        (body,) = snapshot.values()
        urn = body.get("urn") if isinstance(body, dict) else None
        if not isinstance(urn, str):
            raise GmsAnswer(422, "the snapshot has no urn")
        names = _aspect_names_by_record()
        proposals = []
        for union in body.get("aspects") or []:
            if not isinstance(union, dict) or len(union) != 1:
                raise GmsAnswer(422, "each snapshot aspect must be a one-key union")
            ((record, value),) = union.items()
            if record not in names:
                raise GmsAnswer(422, f"Unknown aspect record {record!r}")
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
            raise GmsAnswer(400, "urn and aspect are required")
        if not is_timeseries(aspect_name):
            raise GmsAnswer(400, f"{aspect_name} is not a timeseries aspect")
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
