"""Run slots `slots/<k>` in the run bucket: MaxConcurrentRuns exact across dispatchers (docs/architecture.md)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from executor_common.aws.classify import aws_call

if TYPE_CHECKING:  # the boto3 stubs are a development dependency
    from mypy_boto3_s3 import S3Client

SLOTS_PREFIX = "slots/"
#: A condition that did not hold: key exists / ETag differs (412), a concurrent write won (409), gone (404).
LOST_RACE_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "412", "409"})


def slot_key(index: int) -> str:
    return f"{SLOTS_PREFIX}{index}"


def slot_index(key: str) -> int | None:
    tail = key.removeprefix(SLOTS_PREFIX)
    return int(tail) if tail.isdigit() else None


def first_slot(urn: str, limit: int) -> int:
    """Spread by URN: a burst's dispatchers do not all race for slot 0."""
    return int(hashlib.sha256(urn.encode("utf-8")).hexdigest()[:8], 16) % limit


@dataclass(frozen=True)
class Holder:
    index: int
    urn: str
    started_by: str
    claimed_at: float
    etag: str


@dataclass(frozen=True)
class Claim:
    index: int
    #: False: held already (a redelivery), not to be freed if this launch fails.
    fresh: bool


def _lost_race(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return str(error.get("Code", "")) in LOST_RACE_CODES or status in LOST_RACE_CODES


def _holds(doing: str, call: Callable[..., Any], *args: Any) -> Any:
    """`call`'s answer, None when its condition did not hold."""
    with aws_call(doing):
        try:
            return call(*args)
        except ClientError as exc:
            if _lost_race(exc):
                return None
            raise


class RunSlots:
    """`limit`: MaxConcurrentRuns (to claim); 0 to free only."""

    def __init__(self, client: S3Client, bucket: str, limit: int = 0, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.bucket = bucket
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
        body = json.dumps({"urn": urn, "startedBy": started_by, "claimedAt": self.clock()})
        start = first_slot(urn, self.limit)
        for step in range(self.limit):
            index = (start + step) % self.limit
            doing = f"Claiming run slot {index} (PutObject If-None-Match)"
            if index not in taken and _holds(doing, self._put_if_absent, slot_key(index), body):
                return Claim(index, fresh=True)
        return None

    def holder(self, index: int) -> Holder | None:
        response = _holds(f"Reading run slot {index} (GetObject)", self._get, slot_key(index))
        if response is None:
            return None
        try:
            data = json.loads(response["Body"].read().decode("utf-8"))
        except ValueError:
            data = {}
        return Holder(
            index=index,
            urn=str(data.get("urn", "")),
            started_by=str(data.get("startedBy", "")),
            claimed_at=float(data.get("claimedAt") or response["LastModified"].timestamp()),
            etag=str(response["ETag"]),
        )

    def release(self, index: int, urn: str) -> bool:
        """Free slot `index` if it still names `urn`."""
        holder = self.holder(index)
        if holder is None or holder.urn != urn:
            return False
        return self.free(holder)

    def free(self, holder: Holder) -> bool:
        """Delete the claim `holder` read, only if still there (IfMatch its ETag)."""
        doing = f"Freeing run slot {holder.index} (DeleteObject If-Match)"
        return _holds(doing, self._delete_if_match, slot_key(holder.index), holder.etag) is not None

    def holders(self) -> list[Holder]:
        """Every claimed slot, whatever the limit is now."""
        found = (self.holder(index) for index in self._claimed())
        return [holder for holder in found if holder is not None]

    def _claimed(self) -> list[int]:
        with aws_call("Listing the run slots (ListObjectsV2)"):
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=SLOTS_PREFIX)
            keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
        return [index for index in (slot_index(key) for key in keys) if index is not None]

    def _put_if_absent(self, key: str, body: str) -> Any:
        return self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=body.encode("utf-8"),
            ContentType="application/json",
            ServerSideEncryption="AES256",
            IfNoneMatch="*",
        )

    def _delete_if_match(self, key: str, etag: str) -> Any:
        return self.client.delete_object(Bucket=self.bucket, Key=key, IfMatch=etag)

    def _get(self, key: str) -> Any:
        return self.client.get_object(Bucket=self.bucket, Key=key)
