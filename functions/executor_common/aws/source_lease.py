"""Per-source leases `sources/<sha256 of the ingestion source URN>` in the run bucket: the overlap policies
(skip, queue, replace) exact across parallel dispatchers (docs/architecture.md).

One object per source, held by one execution request: the dispatcher claims it before RunTask (create
If-None-Match), takes it over for `replace` (If-Match), and frees it when its launch did not happen; the
reconciler frees it when the holder's task stopped, the backstop when it is stale. Every write is
conditional (executor_common/aws/conditional.py), and freeing checks that the lease still names the run,
so a late event never frees a lease another run holds now. The key is a hash: at most 72 bytes whatever
the URN (S3 keys stop at 1,024).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from executor_common.aws.conditional import Held, Records

if TYPE_CHECKING:  # the boto3 stubs are a development dependency
    from mypy_boto3_s3 import S3Client

SOURCES_PREFIX = "sources/"
#: A lease claimed this long ago whose run has no live task is stale: a claim is followed by RunTask within
#: seconds, so only a dispatcher that died between the two, or a lost STOPPED event, leaves one.
STALE_LEASE_SECONDS = 300
_LEASE_ID = re.compile(r"[0-9a-f]{64}")


def lease_id(source_urn: str) -> str:
    """The source's lease id: the SHA-256 hex of its URN (the task carries it in EXECUTOR_SOURCE_LEASE)."""
    return hashlib.sha256(source_urn.encode("utf-8")).hexdigest()


def lease_key(lease: str) -> str:
    """`sources/<id>`; ValueError for anything but an id (a task's env must not point elsewhere in the bucket)."""
    if not _LEASE_ID.fullmatch(lease):
        raise ValueError(f"not a source lease id: {lease[:80]!r}")
    return f"{SOURCES_PREFIX}{lease}"


@dataclass(frozen=True)
class Lease(Held):
    """A source's lease as read: which run holds it and since when."""

    lease_id: str
    source: str
    #: The holder's execution request's requestedAt (ms); None in a lease written before it was recorded.
    requested_at: int | None = None


class SourceLeases:
    """The run bucket's `sources/` leases."""

    def __init__(self, client: S3Client, bucket: str, clock: Callable[[], float] = time.time) -> None:
        self.records = Records(client, bucket)
        self.clock = clock

    def claim(self, source: str, urn: str, started_by: str, requested_at: int | None = None) -> bool:
        """Hold `source`'s lease for run `urn` if no run holds it (PutObject If-None-Match: *)."""
        doing = "Claiming the ingestion source's lease (PutObject If-None-Match)"
        body = self._body(source, urn, started_by, requested_at)
        return self.records.create(lease_key(lease_id(source)), body, doing)

    def take_over(self, lease: Lease, urn: str, started_by: str, requested_at: int | None = None) -> bool:
        """Hand `lease` to run `urn` if nobody changed it since it was read (PutObject If-Match: `replace`)."""
        doing = "Taking the ingestion source's lease over (PutObject If-Match)"
        return self.records.replace(lease.record, self._body(lease.source, urn, started_by, requested_at), doing)

    def read(self, lease: str) -> Lease | None:
        record = self.records.read(lease_key(lease), "Reading an ingestion source's lease (GetObject)")
        if record is None:
            return None
        requested = record.data.get("requestedAt")
        return Lease(
            lease_id=lease,
            source=str(record.data.get("source", "")),
            requested_at=int(requested) if isinstance(requested, int | float) else None,
            record=record,
            **Held.fields(record),
        )

    def release(self, lease: str, urn: str) -> bool:
        """Free lease `lease` if it still names run `urn`."""
        held = self.read(lease)
        if held is None or held.urn != urn:
            return False
        return self.free(held)

    def free(self, lease: Lease) -> bool:
        """Delete `lease` as read, only if unchanged since (DeleteObject If-Match its ETag)."""
        return self.records.delete(lease.record, "Freeing an ingestion source's lease (DeleteObject If-Match)")

    def holders(self) -> list[Lease]:
        """Every lease held now (the backstop's sweep)."""
        keys = self.records.keys(SOURCES_PREFIX, "Listing the ingestion sources' leases (ListObjectsV2)")
        ids = (key.removeprefix(SOURCES_PREFIX) for key in keys)
        found = (self.read(lease) for lease in ids if _LEASE_ID.fullmatch(lease))
        return [lease for lease in found if lease is not None]

    def _body(self, source: str, urn: str, started_by: str, requested_at: int | None) -> dict[str, object]:
        body: dict[str, object] = {**Held.body(urn, started_by, self.clock()), "source": source}
        if requested_at is not None:
            body["requestedAt"] = requested_at
        return body
