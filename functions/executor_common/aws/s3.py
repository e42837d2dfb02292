"""The S3 adapter: run folders `s3://<bucket>/runs/<execution-id>/...` (run specs, logs, reports)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from executor_common.aws import make_client
from executor_common.aws.classify import aws_call
from executor_common.errors import RetryableError

if TYPE_CHECKING:  # the boto3 stubs are a development dependency
    from mypy_boto3_s3 import S3Client

RUNS_PREFIX = "runs"
#: S3 keys are at most 1,024 bytes of UTF-8; an execution id keeps at most this many of them in a key.
MAX_KEY_ID_BYTES = 512
_HASH_CHARS = 16


def make_s3_client(region_name: str | None = None) -> S3Client:
    return make_client("s3", region_name, read_timeout=20)


def run_folder_id(execution_id: str) -> str:
    """The execution id as a key segment: itself when short enough and slash-free, else a bounded prefix + hash.

    Ids come from DataHub and may be of any length or script; a key must stay under S3's 1,024 bytes,
    and distinct ids must keep distinct folders (the hash of the whole id sees to that).
    """
    encoded = execution_id.encode("utf-8")
    if len(encoded) <= MAX_KEY_ID_BYTES and "/" not in execution_id:
        return execution_id
    digest = hashlib.sha256(encoded).hexdigest()[:_HASH_CHARS]
    head = encoded[: MAX_KEY_ID_BYTES - _HASH_CHARS - 1].decode("utf-8", "ignore").replace("/", "_")
    return f"{head}-{digest}"


def run_object_key(execution_id: str, name: str) -> str:
    return f"{RUNS_PREFIX}/{run_folder_id(execution_id)}/{name}"


class S3Adapter:
    def __init__(self, client: S3Client) -> None:
        self.client = client

    def put_text(self, bucket: str, key: str, body: str, content_type: str = "application/json") -> str:
        """Write one object encrypted at rest (SSE-S3); returns its `s3://` URI."""
        with aws_call(f"Writing s3://{bucket}/{key} (PutObject)"):
            self.client.put_object(
                Bucket=bucket,
                Key=key,
                Body=body.encode("utf-8"),
                ContentType=content_type,
                ServerSideEncryption="AES256",
            )
        return f"s3://{bucket}/{key}"

    def get_text(self, bucket: str, key: str) -> str:
        """One object's body as UTF-8 text (the runner reads its run spec with this)."""
        with aws_call(f"Reading s3://{bucket}/{key} (GetObject)"):
            response = self.client.get_object(Bucket=bucket, Key=key)
            return response["Body"].read().decode("utf-8")

    def put_file(self, bucket: str, key: str, path: str, content_type: str = "text/plain") -> str:
        """Upload a local file (streamed, so a large run log never sits in memory); returns its `s3://` URI."""
        from boto3.exceptions import S3UploadFailedError

        doing = f"Uploading s3://{bucket}/{key}"
        try:
            with aws_call(doing):
                self.client.upload_file(
                    path, bucket, key, ExtraArgs={"ContentType": content_type, "ServerSideEncryption": "AES256"}
                )
        except S3UploadFailedError as exc:  # boto3's transfer manager wraps the ClientError it met
            raise RetryableError(f"{doing} failed: {exc}") from exc
        return f"s3://{bucket}/{key}"

    def list_keys(self, bucket: str, prefix: str) -> list[tuple[str, float]]:
        """Every key under `prefix` (all pages) with its LastModified as epoch seconds."""
        keys: list[tuple[str, float]] = []
        with aws_call(f"Listing s3://{bucket}/{prefix} (ListObjectsV2)"):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                keys.extend((item["Key"], item["LastModified"].timestamp()) for item in page.get("Contents", []))
        return keys

    def delete(self, bucket: str, key: str) -> None:
        """Delete one object (S3 answers the same for a key that is not there)."""
        with aws_call(f"Deleting s3://{bucket}/{key} (DeleteObject)"):
            self.client.delete_object(Bucket=bucket, Key=key)
