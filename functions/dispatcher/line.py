"""The waiting line: runs waiting for room launch first come, first served, the sources taking turns.

A waiting run is a message on the command queue with a delay (waiting.py), so SQS alone cannot say
who is next: whichever message comes back first would take a free slot, and a new run could overtake
runs that have waited for an hour. So each run waiting for room (the stack's limits, or RunTask's
capacity answers) also holds a place in a line kept as empty objects in the run bucket,
`waiting/<since ms>/<source hash>/<run id>`: one ListObjectsV2 lists the whole line (1,000 places a
page). Before launching, a run counts the places ahead of it in the line's *fair order*: each source's
runs by the time they started waiting, and the sources taking turns (every source's first waiting run,
oldest first, then every source's second, ...). It launches only when fewer runs are ahead of it than
there are free slots; otherwise it waits too, even if it is new. One source's burst of 500 therefore
holds one place per turn, and another source's single run is at most one turn from the front.

A place is refreshed at each check, and one not refreshed for `stale_after_s` (its run was cancelled or
its message lost) no longer counts, so the line cannot stall. The line is read only when a limit is
set (MaxConcurrentRuns / MaxConcurrentVcpus): without one there are no slots to share. Any S3 error
leaves the line out of the decision (a warning): the limits still hold, only the order is looser.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass

from executor_common.aws.s3 import S3Adapter, run_folder_id
from executor_common.contract import execution_id_from_urn, recover_execution_urn
from executor_common.errors import ExecutorError
from executor_common.fair_queue import tenant_of

from dispatcher.observability import logger

LINE_PREFIX = "waiting/"
#: Runs this close to the front check again every FRONT_CHECK_SECONDS, so a freed slot is not left idle for a minute.
FRONT_OF_LINE = 10
FRONT_CHECK_SECONDS = 5
_TENANT_HASH_CHARS = 16


@dataclass(frozen=True)
class Place:
    """One waiting run: since when it waits, its source (hashed), its run id."""

    since_ms: int
    tenant: str
    run_id: str

    @classmethod
    def of(cls, since_ms: int, tenant: str, execution_id: str) -> Place:
        digest = hashlib.sha256(tenant.encode()).hexdigest()[:_TENANT_HASH_CHARS]
        return cls(since_ms, digest, run_folder_id(execution_id))

    @property
    def key(self) -> str:
        return f"{LINE_PREFIX}{self.since_ms:013d}/{self.tenant}/{self.run_id}"

    @classmethod
    def from_key(cls, key: str) -> Place | None:
        since, _, rest = key.removeprefix(LINE_PREFIX).partition("/")
        tenant, _, run_id = rest.partition("/")
        return cls(int(since), tenant, run_id) if since.isdigit() and tenant and run_id else None


def place_of_body(body: str, since_ms: int) -> Place | None:
    """The place of the run a message body asks for, waiting since `since_ms`; None when it names no run."""
    urn, tenant = recover_execution_urn(body), tenant_of(body)
    return Place.of(since_ms, tenant, execution_id_from_urn(urn)) if urn and tenant else None


def fair_order(places: list[Place]) -> list[Place]:
    """The line's order: a source's n-th waiting run after every source's (n-1)-th; within a turn, oldest first."""
    by_tenant: dict[str, list[Place]] = defaultdict(list)
    for place in places:
        by_tenant[place.tenant].append(place)
    turns: list[tuple[int, int, str, str, Place]] = []
    for queue in by_tenant.values():
        queue.sort(key=lambda p: (p.since_ms, p.run_id))
        turns.extend((turn, p.since_ms, p.tenant, p.run_id, p) for turn, p in enumerate(queue))
    return [entry[-1] for entry in sorted(turns, key=lambda entry: entry[:4])]


def ahead_of(me: Place, places: list[Place]) -> int:
    """How many of `places` come before `me` in the fair order (its own place, if listed, is `me`)."""
    line = fair_order([p for p in places if p.run_id != me.run_id] + [me])
    return line.index(me)


def free_slots(runs: int, vcpus: float, max_runs: int, max_vcpus: float, run_vcpus: float) -> int:
    """Runs of `run_vcpus` that fit under the limits now (0 = no limit on that axis)."""
    free = math.inf
    if max_runs > 0:
        free = max_runs - runs
    if max_vcpus > 0 and run_vcpus > 0:
        free = min(free, math.floor((max_vcpus - vcpus) / run_vcpus + 1e-9))
    return max(0, int(free)) if free != math.inf else 1_000_000


class WaitingLine:
    """The line in `bucket`; `stale_after_s` drops places whose run stopped checking."""

    def __init__(self, s3: S3Adapter, bucket: str, stale_after_s: float) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.stale_after_s = stale_after_s

    def places(self, now_ms: int) -> list[Place] | None:
        """The live places, or None when the line cannot be read (the caller goes on without it)."""
        try:
            listed = self.s3.list_keys(self.bucket, LINE_PREFIX)
        except ExecutorError as exc:
            logger.warning("Could not read the waiting line; deciding by the limits alone", extra={"error": str(exc)})
            return None
        fresh = now_ms / 1000 - self.stale_after_s
        return [place for key, modified in listed if modified >= fresh and (place := Place.from_key(key))]

    def join(self, place: Place) -> None:
        """Hold (or refresh) `place`; best effort."""
        try:
            self.s3.put_text(self.bucket, place.key, "", content_type="text/plain")
        except ExecutorError as exc:
            logger.warning("Could not hold the run's place in the waiting line", extra={"error": str(exc)})

    def leave(self, place: Place) -> None:
        """Give up `place` (launched, ended, given up); best effort: a stale place stops counting anyway."""
        try:
            self.s3.delete(self.bucket, place.key)
        except ExecutorError as exc:
            logger.warning("Could not leave the waiting line", extra={"error": str(exc)})
