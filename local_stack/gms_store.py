"""What the GMS stand-in knows: proposal validation with DataHub's own schema classes, and aspect storage.

No HTTP here. Validation is as strict as GMS where it matters to us: an aspect that DataHub's
schema classes refuse (missing required field, wrong type, unknown field, unknown aspect name)
is refused with a clear message, so a payload accepted here is one real GMS accepts too.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

# The stand-in's own copies of DataHub's names, on purpose not imported from executor_common.contract:
# the stand-in plays GMS, so a wrong name in the product's contract must disagree with it, not agree.
RESULT_ASPECT = "dataHubExecutionRequestResult"
INPUT_ASPECT = "dataHubExecutionRequestInput"
EXECUTION_REQUEST_ENTITY = "dataHubExecutionRequest"
JSON_CONTENT_TYPE = "application/json"
PATCH_CONTENT_TYPE = "application/json-patch+json"
STATE_FORMAT = 1


class ProposalError(ValueError):
    """The proposal is not one GMS would accept (answered as HTTP 422)."""


@dataclass(frozen=True)
class Proposal:
    """One validated metadata change proposal, its aspect decoded to the rest.li JSON form."""

    entity_type: str
    entity_urn: str
    change_type: str
    aspect_name: str | None
    aspect: Any
    system_metadata: dict[str, Any] | None = None


@cache
def _schema() -> tuple[dict[str, Any], frozenset[str], Any]:
    """DataHub's schema classes, imported on first use (a heavy import the CLI does not always need)."""
    from datahub.emitter.serialization_helper import post_json_transform
    from datahub.metadata.schema_classes import ASPECT_NAME_MAP, ChangeTypeClass

    change_types = frozenset(v for k, v in vars(ChangeTypeClass).items() if k.isupper() and isinstance(v, str))
    return ASPECT_NAME_MAP, change_types, post_json_transform


def load_schema() -> None:
    """Import DataHub's schema classes now. GMS has them loaded before it serves; a stand-in importing them on its
    first request (seconds, or tens of seconds while other threads hold the GIL) would time its first callers out."""
    _schema()


def record_name(aspect_name: str) -> str:
    """The record's full rest.li name (`com.linkedin.execution.ExecutionRequestResult`) for GET answers."""
    aspect_map, _, _ = _schema()
    cls = aspect_map[aspect_name]
    return cls.RECORD_SCHEMA.fullname.replace(".pegasus2avro", "")


def is_timeseries(aspect_name: str) -> bool:
    aspect_map, _, _ = _schema()
    cls = aspect_map.get(aspect_name)
    return getattr(cls, "ASPECT_TYPE", "default") == "timeseries"


def validate_aspect(aspect_name: str, value: Any) -> None:
    """Raise ProposalError unless DataHub's schema class for `aspect_name` accepts `value`."""
    aspect_map, _, post_json_transform = _schema()
    cls = aspect_map.get(aspect_name)
    if cls is None:
        raise ProposalError(f"Unknown aspect {aspect_name!r}: not in DataHub's aspect registry")
    if not isinstance(value, dict):
        raise ProposalError(f"Aspect {aspect_name} must be a JSON object, got {type(value).__name__}")
    known = {f.name for f in cls.RECORD_SCHEMA.fields}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ProposalError(
            f"Aspect {aspect_name}: unrecognized field found but not allowed: {', '.join(unknown)} "
            f"(allowed: {', '.join(sorted(known))})"
        )
    try:
        instance = cls.from_obj(post_json_transform(value))
    except Exception as exc:  # avrogen raises ValueError/TypeError/KeyError/AttributeError variously
        raise ProposalError(f"Aspect {aspect_name} does not match its schema: {exc}") from None
    if not instance.validate():
        raise ProposalError(f"Aspect {aspect_name} does not match its schema (a field has the wrong type)")


def _entity_type_of(urn: str) -> str:
    parts = urn.split(":", 3)
    if len(parts) < 4 or parts[0] != "urn" or parts[1] != "li" or not parts[2] or not parts[3]:
        raise ProposalError(f"Malformed urn {urn!r}: expected urn:li:<entityType>:<key>")
    return parts[2]


def urn_from_key_aspect(entity_type: str, envelope: Any) -> str:
    """The urn GMS derives from a proposal that names its entity only by the key aspect (as DataHub's own
    executor does): the key's fields in schema order, one field bare, several as a `(a,b)` tuple."""
    from datahub.metadata.schema_classes import KEY_ASPECTS

    key_class = KEY_ASPECTS.get(entity_type)
    if key_class is None:
        raise ProposalError(f"proposal.entityType {entity_type!r} has no key aspect in DataHub's registry")
    if not isinstance(envelope, dict) or not isinstance(envelope.get("value"), str):
        raise ProposalError("proposal.entityKeyAspect must be {value: <JSON string>, contentType: ...}")
    try:
        key = json.loads(envelope["value"])
    except ValueError as exc:
        raise ProposalError(f"proposal.entityKeyAspect.value is not valid JSON: {exc}") from None
    validate_aspect(key_class.ASPECT_NAME, key)
    parts = [str(key[field.name]) for field in key_class.RECORD_SCHEMA.fields if key.get(field.name) is not None]
    if not parts:
        raise ProposalError(f"proposal.entityKeyAspect of {entity_type} has no key field")
    return f"urn:li:{entity_type}:{parts[0] if len(parts) == 1 else '(' + ','.join(parts) + ')'}"


def parse_proposal(raw: Any) -> Proposal:
    """Validate one rest.li proposal dict as GMS does; raise ProposalError naming what is wrong."""
    if not isinstance(raw, dict):
        raise ProposalError("proposal must be a JSON object")
    _, change_types, _ = _schema()
    for name in ("entityType", "changeType"):
        if not isinstance(raw.get(name), str) or not raw[name]:
            raise ProposalError(f"proposal.{name} is required and must be a non-empty string")
    entity_type, change_type = raw["entityType"], raw["changeType"]
    urn = raw.get("entityUrn")
    if urn is None and raw.get("entityKeyAspect") is not None:
        urn = urn_from_key_aspect(entity_type, raw["entityKeyAspect"])
    if not isinstance(urn, str) or not urn:
        raise ProposalError("proposal.entityUrn (or proposal.entityKeyAspect) is required")
    if change_type not in change_types:
        raise ProposalError(f"proposal.changeType {change_type!r} is not one of {sorted(change_types)}")
    if _entity_type_of(urn) != entity_type:
        raise ProposalError(f"proposal.entityType {entity_type!r} does not match the urn {urn!r}")
    system_metadata = raw.get("systemMetadata")
    if system_metadata is not None and not isinstance(system_metadata, dict):
        raise ProposalError("proposal.systemMetadata must be an object")
    aspect_name = raw.get("aspectName")
    if change_type == "DELETE" and raw.get("aspect") is None:
        return Proposal(entity_type, urn, change_type, aspect_name, None, system_metadata)
    if not isinstance(aspect_name, str) or not aspect_name:
        raise ProposalError("proposal.aspectName is required and must be a non-empty string")
    envelope = raw.get("aspect")
    if not isinstance(envelope, dict) or not isinstance(envelope.get("value"), str):
        raise ProposalError("proposal.aspect must be {value: <JSON string>, contentType: ...}")
    content_type = envelope.get("contentType", JSON_CONTENT_TYPE)
    try:
        value = json.loads(envelope["value"])
    except ValueError as exc:
        raise ProposalError(f"proposal.aspect.value is not valid JSON: {exc}") from None
    if change_type == "PATCH":
        if content_type != PATCH_CONTENT_TYPE:
            raise ProposalError(f"a PATCH aspect must have contentType {PATCH_CONTENT_TYPE!r}")
        ops = value.get("patch") if isinstance(value, dict) else value
        if not isinstance(ops, list) or not all(isinstance(op, dict) and "op" in op and "path" in op for op in ops):
            raise ProposalError("a PATCH aspect must be a JSON Patch list of {op, path, ...}")
        if aspect_name not in _schema()[0]:
            raise ProposalError(f"Unknown aspect {aspect_name!r}: not in DataHub's aspect registry")
        return Proposal(entity_type, urn, change_type, aspect_name, value, system_metadata)
    if content_type != JSON_CONTENT_TYPE:
        raise ProposalError(f"proposal.aspect.contentType must be {JSON_CONTENT_TYPE!r}, got {content_type!r}")
    validate_aspect(aspect_name, value)
    return Proposal(entity_type, urn, change_type, aspect_name, value, system_metadata)


@dataclass
class _Entity:
    entity_type: str
    created: int
    updated: int
    #: aspect name -> every value written, oldest first (the last one is the current one).
    aspects: dict[str, list[Any]] = field(default_factory=dict)
    patches: dict[str, list[Any]] = field(default_factory=dict)


class AspectStore:
    """Thread-safe entities and aspect histories, optionally persisted as one JSON file.

    Saving rewrites the whole file (atomically), so it is debounced: a background saver writes
    at most every `save_interval` seconds after a change, and `close()` writes what is left.
    """

    def __init__(self, state_file: str | os.PathLike[str] | None = None, save_interval: float = 0.2) -> None:
        self.state_file = Path(state_file) if state_file else None
        self.save_interval = save_interval
        self._lock = threading.RLock()
        self.changed = threading.Condition(self._lock)
        self._entities: dict[str, _Entity] = {}
        self._seq = 0
        self.proposals = 0
        self._dirty = False
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = False
        self._saver: threading.Thread | None = None

    # -- writes ---------------------------------------------------------------------
    def apply(self, proposals: list[Proposal]) -> None:
        """Apply already-validated proposals in order, then persist once and wake waiters."""
        with self._lock:
            for proposal in proposals:
                self._apply_one(proposal)
            self._mark_dirty()
            self.changed.notify_all()

    def _apply_one(self, proposal: Proposal) -> None:
        self._seq += 1
        self.proposals += 1
        urn = proposal.entity_urn
        if proposal.change_type == "DELETE":
            if proposal.aspect_name and proposal.aspect_name in self._entities.get(urn, _Entity("", 0, 0)).aspects:
                del self._entities[urn].aspects[proposal.aspect_name]
            else:
                self._entities.pop(urn, None)
            return
        entity = self._entities.get(urn)
        if entity is None:
            entity = self._entities[urn] = _Entity(proposal.entity_type, created=self._seq, updated=self._seq)
        entity.updated = self._seq
        assert proposal.aspect_name is not None
        if proposal.change_type == "PATCH":
            entity.patches.setdefault(proposal.aspect_name, []).append(proposal.aspect)
            return
        entity.aspects.setdefault(proposal.aspect_name, []).append(proposal.aspect)

    def delete_entity(self, urn: str) -> bool:
        with self._lock:
            existed = self._entities.pop(urn, None) is not None
            self._mark_dirty()
            self.changed.notify_all()
            return existed

    # -- reads ----------------------------------------------------------------------
    def aspect(self, urn: str, aspect_name: str, version: int = 0) -> Any | None:
        """Version 0 is the latest; versions 1.. count from the oldest, as in GMS."""
        with self._lock:
            values = self._entities[urn].aspects.get(aspect_name) if urn in self._entities else None
            if not values:
                return None
            if version == 0:
                return _copy(values[-1])
            return _copy(values[version - 1]) if 0 < version <= len(values) else None

    def history(self, urn: str, aspect_name: str) -> list[Any]:
        with self._lock:
            entity = self._entities.get(urn)
            return _copy(entity.aspects.get(aspect_name, [])) if entity else []

    def aspects(self, urn: str) -> dict[str, Any]:
        with self._lock:
            entity = self._entities.get(urn)
            return {name: _copy(values[-1]) for name, values in entity.aspects.items() if values} if entity else {}

    def patches(self, urn: str, aspect_name: str) -> list[Any]:
        with self._lock:
            entity = self._entities.get(urn)
            return _copy(entity.patches.get(aspect_name, [])) if entity else []

    def urns(self, entity_type: str | None = None) -> list[str]:
        """Entity urns, newest first (by first write)."""
        with self._lock:
            chosen = [(e.created, u) for u, e in self._entities.items() if entity_type in (None, e.entity_type)]
            return [u for _, u in sorted(chosen, reverse=True)]

    # -- persistence ----------------------------------------------------------------
    def load(self) -> None:
        if self.state_file is None or not self.state_file.exists():
            return
        state = json.loads(self.state_file.read_text())
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"{self.state_file} has an unknown state format {state.get('format')!r}")
        with self._lock:
            self._seq = int(state.get("seq", 0))
            self.proposals = int(state.get("proposals", 0))
            self._entities = {
                urn: _Entity(
                    entity_type=e["entityType"],
                    created=e["created"],
                    updated=e["updated"],
                    aspects=e.get("aspects", {}),
                    patches=e.get("patches", {}),
                )
                for urn, e in state.get("entities", {}).items()
            }

    def _mark_dirty(self) -> None:
        if self.state_file is None:
            return
        self._dirty = True
        if self._saver is None:
            self._saver = threading.Thread(target=self._save_loop, name="gms-standin-saver", daemon=True)
            self._saver.start()
        self._wake.set()

    def _save_loop(self) -> None:
        while not self._closing:
            self._wake.wait()
            self._wake.clear()
            time.sleep(self.save_interval)
            self.flush()

    def close(self) -> None:
        """Stop the background saver and write any change it has not written yet."""
        self._closing = True
        self._wake.set()
        if self._saver is not None:
            self._saver.join(timeout=10)
            self._saver = None
        self._closing = False
        self.flush()

    def flush(self) -> None:
        """Write the state file now if anything changed since the last write."""
        if self.state_file is None:
            return
        with self._write_lock:
            with self._lock:
                if not self._dirty:
                    return
                self._dirty = False
                text = json.dumps(self._state(), separators=(",", ":"))
            _atomic_write(self.state_file, text)

    def _state(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "seq": self._seq,
            "proposals": self.proposals,
            "savedAt": int(time.time() * 1000),
            "entities": {
                urn: {
                    "entityType": e.entity_type,
                    "created": e.created,
                    "updated": e.updated,
                    "aspects": e.aspects,
                    "patches": e.patches,
                }
                for urn, e in self._entities.items()
            },
        }


def _atomic_write(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _copy(value: Any) -> Any:
    """A deep copy through JSON: callers can never mutate what the store holds."""
    return json.loads(json.dumps(value))
