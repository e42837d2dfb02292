"""Run slots `slots/<k>` in the run bucket: MaxConcurrentRuns exact across dispatchers (docs/architecture.md)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from executor_common.aws.conditional import Held, Records

if TYPE_CHECKING:  # the boto3 stubs are a development dependency
    from mypy_boto3_s3 import S3Client

SLOTS_PREFIX = "slots/"


def slot_key(index: int) -> str:
    return f"{SLOTS_PREFIX}{index}"


def slot_index(key: str) -> int | None:
    tail = key.removeprefix(SLOTS_PREFIX)
    return int(tail) if tail.isdigit() else None


def first_slot(urn: str, limit: int) -> int:
    """Spread by URN: a burst's dispatchers do not all race for slot 0."""
    return int(hashlib.sha256(urn.encode("utf-8")).hexdigest()[:8], 16) % limit


@dataclass(frozen=True)
class Holder(Held):
    index: int


@dataclass(frozen=True)
class Claim:
    index: int
    #: False: held already (a redelivery), not to be freed if this launch fails.
    fresh: bool


class RunSlots:
    """`limit`: MaxConcurrentRuns (to claim); 0 to free only."""

    def __init__(self, client: S3Client, bucket: str, limit: int = 0, clock: Callable[[], float] = time.time) -> None:
        self.records = Records(client, bucket)
        self.limit = limit
        self.clock = clock

    def claim(self, urn: str, started_by: str, *, maybe_held: bool = True) -> Claim | None:
        """The slot the run holds (looked for on a redelivery, `maybe_held`), else a free one; None: all taken.

        One LIST, then PutObject only where a slot looked free: two requests per launch in the usual case.
        """
        taken = self._claimed()
        if maybe_held:
            held = next((h for h in map(self.holder, taken) if h is not None and h.urn == urn), None)
            if held is not None:
                return Claim(held.index, fresh=False)
        body = Held.body(urn, started_by, self.clock())
        start = first_slot(urn, self.limit)
        for step in range(self.limit):
            index = (start + step) % self.limit
            doing = f"Claiming run slot {index} (PutObject If-None-Match)"
            if index not in taken and self.records.create(slot_key(index), body, doing):
                return Claim(index, fresh=True)
        return None

    def holder(self, index: int) -> Holder | None:
        record = self.records.read(slot_key(index), f"Reading run slot {index} (GetObject)")
        if record is None:
            return None
        return Holder(index=index, record=record, **Held.fields(record))

    def release(self, index: int, urn: str) -> bool:
        """Free slot `index` if it still names `urn`."""
        holder = self.holder(index)
        if holder is None or holder.urn != urn:
            return False
        return self.free(holder)

    def free(self, holder: Holder) -> bool:
        """Delete the claim `holder` read, only if still there (IfMatch its ETag)."""
        return self.records.delete(holder.record, f"Freeing run slot {holder.index} (DeleteObject If-Match)")

    def holders(self) -> list[Holder]:
        """Every claimed slot, whatever the limit is now."""
        found = (self.holder(index) for index in self._claimed())
        return [holder for holder in found if holder is not None]

    def _claimed(self) -> list[int]:
        keys = self.records.keys(SLOTS_PREFIX, "Listing the run slots (ListObjectsV2)")
        return [index for index in (slot_index(key) for key in keys) if index is not None]
