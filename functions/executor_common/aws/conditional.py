"""JSON records in the run bucket written with S3 conditional requests: leases that exactly one writer wins.

S3 answers a conditional PutObject / DeleteObject whose condition no longer holds with 412 Precondition
Failed (key exists for `If-None-Match: *`, ETag differs for `If-Match`), 409 ConditionalRequestConflict
when two writes race, 404 when the key is gone. Each of those means "someone else got there first",
never an error: `Records` turns them into None / False. Used by the run slots (MaxConcurrentRuns) and
every other lease of the stack, so the rule lives here once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from executor_common.aws.classify import aws_call

if TYPE_CHECKING:  # the boto3 stubs are a development dependency
    from mypy_boto3_s3 import S3Client

#: A condition that did not hold: key exists / ETag differs (412), a concurrent write won (409), gone (404).
LOST_RACE_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "412", "409"})


def lost_race(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return str(error.get("Code", "")) in LOST_RACE_CODES or status in LOST_RACE_CODES


def unless_lost(doing: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`call`'s answer, None when its condition did not hold; any other failure classified by `aws_call`."""
    with aws_call(doing):
        try:
            return call(*args, **kwargs)
        except ClientError as exc:
            if lost_race(exc):
                return None
            raise


@dataclass(frozen=True)
class Record:
    key: str
    data: dict[str, Any]
    etag: str
    #: Seconds since the epoch (S3's LastModified): the fallback age of a record without its own clock.
    modified: float


@dataclass(frozen=True)
class Held:
    """A lease as read: every lease body names the run holding it and when it claimed it, the same way."""

    urn: str
    started_by: str
    #: Seconds since the epoch: the body's claimedAt, else S3's LastModified.
    claimed_at: float
    record: Record

    @staticmethod
    def fields(record: Record) -> dict[str, Any]:
        """The keyword arguments of `Held` read from `record` (for a subclass that adds its own)."""
        data = record.data
        claimed_at = float(data.get("claimedAt") or record.modified)
        return {"urn": str(data.get("urn", "")), "started_by": str(data.get("startedBy", "")), "claimed_at": claimed_at}

    @staticmethod
    def body(urn: str, started_by: str, claimed_at: float) -> dict[str, Any]:
        return {"urn": urn, "startedBy": started_by, "claimedAt": claimed_at}


class Records:
    """Small JSON objects under one bucket, read and written only with the conditions above."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def create(self, key: str, data: dict[str, Any], doing: str) -> bool:
        """Write `key` only if it does not exist (If-None-Match: *); False when another writer has it."""
        return unless_lost(doing, self._put, key, data, IfNoneMatch="*") is not None

    def replace(self, record: Record, data: dict[str, Any], doing: str) -> bool:
        """Overwrite `record` only if unchanged since it was read (If-Match its ETag)."""
        return unless_lost(doing, self._put, record.key, data, IfMatch=record.etag) is not None

    def delete(self, record: Record, doing: str) -> bool:
        """Delete `record` only if unchanged since it was read (If-Match its ETag)."""
        call = self.client.delete_object
        return unless_lost(doing, call, Bucket=self.bucket, Key=record.key, IfMatch=record.etag) is not None

    def read(self, key: str, doing: str) -> Record | None:
        response = unless_lost(doing, self.client.get_object, Bucket=self.bucket, Key=key)
        if response is None:
            return None
        try:
            data = json.loads(response["Body"].read().decode("utf-8"))
        except ValueError:
            data = {}
        return Record(
            key=key,
            data=data if isinstance(data, dict) else {},
            etag=str(response["ETag"]),
            modified=response["LastModified"].timestamp(),
        )

    def keys(self, prefix: str, doing: str) -> list[str]:
        with aws_call(doing):
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def _put(self, key: str, data: dict[str, Any], **condition: str) -> Any:
        return self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=json.dumps(data).encode("utf-8"),
            ContentType="application/json",
            ServerSideEncryption="AES256",
            **condition,  # type: ignore[arg-type]
        )
