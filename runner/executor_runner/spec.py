"""Reading the run spec the dispatcher handed over: inline JSON, or an object in the run bucket."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlparse

from executor_common.errors import PermanentError, summarize_validation_error
from executor_common.runspec import ENV_RUN_SPEC, ENV_RUN_SPEC_URI, RunSpec
from pydantic import ValidationError

#: (bucket, key) -> the object's text.
S3TextReader = Callable[[str, str], str]


def parse_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise PermanentError(f"{ENV_RUN_SPEC_URI} must look like s3://bucket/key, got {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def load_run_spec(inline: str | None, uri: str | None, read_s3_text: S3TextReader | None = None) -> RunSpec:
    """The RunSpec (inline wins over the URI); PermanentError naming the problem when absent or invalid.

    The spec is the one source of the run timeout (`run_timeout_seconds`).
    """
    if inline:
        raw = inline
    elif uri:
        bucket, key = parse_s3_uri(uri)
        reader = read_s3_text or default_s3_reader()
        raw = reader(bucket, key)
    else:
        raise PermanentError(f"neither {ENV_RUN_SPEC} nor {ENV_RUN_SPEC_URI} is set: the runner has nothing to run")
    try:
        return RunSpec.model_validate_json(raw)
    except ValidationError as exc:
        raise PermanentError(
            f"the run spec is invalid ({exc.error_count()} error(s)): {summarize_validation_error(exc)}"
        ) from None


def default_s3_reader() -> S3TextReader:
    """The project's S3 adapter (boto3 honours AWS_ENDPOINT_URL, so this reaches moto locally)."""
    from executor_common.aws.s3 import S3Adapter, make_s3_client

    adapter = S3Adapter(make_s3_client())
    return adapter.get_text
