"""The vCPU ledger `vcpus/ledger` in the run bucket: MaxConcurrentVcpus exact across dispatchers (docs/architecture.md).

One JSON object lists the runs holding vCPUs, `{"runs": {urn: {"vcpus", "startedBy", "claimedAt"}}}`, and
every change is a read followed by a conditional write (`Records`: create If-None-Match when absent,
replace If-Match the ETag read). Two dispatchers that read the same ledger cannot both add a run: the second
write gets 412/409, re-reads, and checks the limit again against what the first added. Why one object
and not a slot per vCPU unit: a launch costs one GET and one PUT whatever the run's size (a 16-vCPU run
would need 64 quarter-vCPU slots, claimed one by one, and two large runs could each hold half of what
both need); the price is contention on one key, bounded by the dispatchers running at once
(DispatcherMaxConcurrency) and RunTask's own rate, and met by a jittered re-read.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from executor_common.aws.conditional import Record, Records

if TYPE_CHECKING:  # the boto3 stubs are a development dependency
    from mypy_boto3_s3 import S3Client

LEDGER_KEY = "vcpus/ledger"
#: Conditional writes lost in a row before the run is told to wait (checked again soon, never failed).
MAX_ATTEMPTS = 8
#: The longest pause (seconds) between a lost write and the re-read; each pause is a random share of it.
MAX_BACKOFF_SECONDS = 0.2


@dataclass(frozen=True)
class Entry:
    urn: str
    vcpus: float
    started_by: str
    claimed_at: float


@dataclass(frozen=True)
class Ledger:
    """One read of the ledger: its runs and the record to write against (None: not created yet)."""

    record: Record | None
    entries: dict[str, Entry]

    def used(self, but: str | None = None) -> float:
        """vCPUs held, leaving out run `but` (a redelivered run's own entry)."""
        return sum(entry.vcpus for urn, entry in self.entries.items() if urn != but)


@dataclass(frozen=True)
class VcpuClaim:
    """`granted`: the run holds its vCPUs; `fresh`: this attempt added them (free them if nothing launches);
    `used`: the vCPUs others held at the last read (for the reason a run waits)."""

    granted: bool
    fresh: bool
    used: float
    #: The writes kept losing to other dispatchers: the run waits and tries again (never a failure).
    busy: bool = False


def _entries(data: dict[str, Any]) -> dict[str, Entry]:
    runs = data.get("runs")
    if not isinstance(runs, dict):
        return {}
    entries: dict[str, Entry] = {}
    for urn, body in runs.items():
        if isinstance(body, dict):
            entries[str(urn)] = Entry(
                urn=str(urn),
                vcpus=float(body.get("vcpus") or 0),
                started_by=str(body.get("startedBy", "")),
                claimed_at=float(body.get("claimedAt") or 0),
            )
    return entries


def _body(entries: dict[str, Entry]) -> dict[str, Any]:
    return {
        "runs": {
            e.urn: {"vcpus": e.vcpus, "startedBy": e.started_by, "claimedAt": e.claimed_at} for e in entries.values()
        }
    }


class VcpuLedger:
    def __init__(
        self,
        client: S3Client,
        bucket: str,
        clock: Callable[[], float] = time.time,
        pause: Callable[[float], None] = time.sleep,
        *,
        create_if_absent: bool = False,
    ) -> None:
        self.records = Records(client, bucket)
        self.clock = clock
        self.pause = pause
        #: The dispatcher's: write an empty ledger (If-None-Match) before its first read, once per container. A
        #: GetObject of a missing key answers 403, not 404, to a role without s3:ListBucket, and the ledger is
        #: never deleted (emptied instead), so after that step every read finds it.
        self._to_create = create_if_absent

    def read(self) -> Ledger:
        if self._to_create:
            self.records.create(LEDGER_KEY, {"runs": {}}, "Creating the vCPU ledger (PutObject If-None-Match)")
            self._to_create = False
        record = self.records.read(LEDGER_KEY, "Reading the vCPU ledger (GetObject)")
        return Ledger(record, _entries(record.data) if record is not None else {})

    def exists(self) -> bool:
        """The ledger was created (a stack that never had a vCPU limit has none; a GetObject would answer 403)."""
        return LEDGER_KEY in self.records.keys(LEDGER_KEY, "Looking for the vCPU ledger (ListObjectsV2)")

    def claim(self, urn: str, started_by: str, vcpus: float, limit: float, seen: Ledger | None = None) -> VcpuClaim:
        """Add the run's `vcpus` if they fit under `limit`; a run already listed (a redelivery) keeps its entry.

        `seen`: a read made moments ago (admission's), tried first: one GET and one PUT per launch when
        no other dispatcher writes in between.
        """
        ledger = seen or self.read()
        for attempt in range(MAX_ATTEMPTS):
            if urn in ledger.entries:
                return VcpuClaim(granted=True, fresh=False, used=ledger.used(but=urn))
            used = ledger.used()
            if used + vcpus > limit + 1e-9:
                return VcpuClaim(granted=False, fresh=False, used=used)
            entries = {**ledger.entries, urn: Entry(urn, vcpus, started_by, self.clock())}
            if self._write(ledger, entries, "Adding a run to the vCPU ledger"):
                return VcpuClaim(granted=True, fresh=True, used=used)
            if attempt + 1 < MAX_ATTEMPTS:
                self.pause(random.uniform(0, MAX_BACKOFF_SECONDS))  # jitter, not a secret
                ledger = self.read()
        return VcpuClaim(granted=False, fresh=False, used=ledger.used(), busy=True)

    def release(self, urn: str, *, claimed_before: float | None = None) -> bool:
        """Remove run `urn`'s entry (only one claimed before `claimed_before`, when given: a late STOPPED event of
        an earlier task of the same run must not free the entry of its re-run). False: not there, or still
        losing to other writers after MAX_ATTEMPTS (the backstop's sweep frees it later)."""
        before = math.inf if claimed_before is None else claimed_before
        return bool(self.remove(lambda entry: entry.urn == urn and entry.claimed_at <= before))

    def remove(self, which: Callable[[Entry], bool]) -> list[Entry]:
        """Remove every entry `which` picks, with the same conditional read-write as `claim`; the entries removed."""
        for attempt in range(MAX_ATTEMPTS):
            ledger = self.read()
            gone = [entry for entry in ledger.entries.values() if which(entry)]
            if ledger.record is None or not gone:
                return []
            kept = {urn: entry for urn, entry in ledger.entries.items() if entry not in gone}
            if self._write(ledger, kept, "Freeing vCPUs in the vCPU ledger"):
                return gone
            if attempt + 1 < MAX_ATTEMPTS:
                self.pause(random.uniform(0, MAX_BACKOFF_SECONDS))
        return []

    def _write(self, ledger: Ledger, entries: dict[str, Entry], doing: str) -> bool:
        if ledger.record is None:
            return self.records.create(LEDGER_KEY, _body(entries), f"{doing} (PutObject If-None-Match)")
        return self.records.replace(ledger.record, _body(entries), f"{doing} (PutObject If-Match)")
