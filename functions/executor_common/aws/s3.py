"""The S3 adapter: run folders `s3://<bucket>/runs/<execution-id>/...` (run specs, logs, reports)."""

from __future__ import annotations

from typing import Any

from executor_common.aws import make_client

RUNS_PREFIX = "runs"


def make_s3_client(region_name: str | None = None) -> Any:
    return make_client("s3", region_name, read_timeout=20)


def run_object_key(execution_id: str, name: str) -> str:
    return f"{RUNS_PREFIX}/{execution_id}/{name}"


class S3Adapter:
    def __init__(self, client: Any) -> None:
        self.client = client

    def put_text(self, bucket: str, key: str, body: str, content_type: str = "application/json") -> str:
        """Write one object encrypted at rest (SSE-S3); returns its `s3://` URI."""
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
        response = self.client.get_object(Bucket=bucket, Key=key)
        return response["Body"].read().decode("utf-8")

    def put_file(self, bucket: str, key: str, path: str, content_type: str = "text/plain") -> str:
        """Upload a local file (streamed, so a large run log never sits in memory); returns its `s3://` URI."""
        self.client.upload_file(
            path, bucket, key, ExtraArgs={"ContentType": content_type, "ServerSideEncryption": "AES256"}
        )
        return f"s3://{bucket}/{key}"
