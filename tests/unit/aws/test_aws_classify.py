"""Retryable vs permanent, table-driven: the one classification the AWS adapters use."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from executor_common.aws.classify import (
    Verdict,
    classified,
    classify_error_code,
    classify_exception,
    classify_failures,
    describe_failures,
)
from executor_common.errors import PermanentError, RetryableError

CODES = [
    ("ThrottlingException", "Rate exceeded", 400, Verdict.RETRY),
    ("InvalidParameterException", "Throttling: Rate exceeded", 400, Verdict.RETRY),
    ("InvalidParameterException", "Request rate exceeded for RunTask", 400, Verdict.RETRY),
    ("ServerException", "Service unavailable", 500, Verdict.RETRY),
    ("ClientException", "Too many concurrent attempts to create a new revision of the specified family.", 400,
     Verdict.RETRY),
    ("SomethingNew", "", 503, Verdict.RETRY),
    ("ClusterNotFoundException", "Cluster not found.", 400, Verdict.FAIL),
    ("AccessDeniedException", "not authorized to perform ecs:RunTask", 400, Verdict.FAIL),
    ("InvalidParameterException", "Task definition does not support launch_type FARGATE.", 400, Verdict.FAIL),
    ("ClientException", "TaskDefinition is inactive", 400, Verdict.FAIL),
    ("ResourceNotFoundException", "Secrets Manager can't find the specified secret.", 400, Verdict.FAIL),
    ("SomethingNew", "", 400, Verdict.FAIL),
]  # fmt: skip
FAILURES = [
    ([{"reason": "AGENT"}], Verdict.RETRY),
    ([{"reason": "RESOURCE:MEMORY"}], Verdict.RETRY),
    ([{"reason": "RESOURCE:ENI"}], Verdict.RETRY),
    ([{"reason": "Capacity is unavailable at this time. Please try again later or in a different availability zone"}],
     Verdict.RETRY),
    ([{"reason": "Capacity unavailable"}], Verdict.RETRY),
    ([{"reason": "MISSING"}], Verdict.FAIL),
    ([{"reason": "ATTRIBUTE"}], Verdict.FAIL),
    ([{"reason": "AGENT"}, {"reason": "MISSING"}], Verdict.FAIL),
    ([], Verdict.FAIL),
]  # fmt: skip


def _client_error(code: str, message: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "RunTask"
    )


@pytest.mark.parametrize(("code", "message", "status", "verdict"), CODES)
def test_classify_error_code_table(code, message, status, verdict):
    assert classify_error_code(code, message, status) is verdict
    assert classify_exception(_client_error(code, message, status)) is verdict


@pytest.mark.parametrize(("failures", "verdict"), FAILURES)
def test_classify_failures_table(failures, verdict):
    assert classify_failures(failures) is verdict


@pytest.mark.parametrize(
    ("exc", "verdict"),
    [
        (EndpointConnectionError(endpoint_url="https://ecs"), Verdict.RETRY),
        (ReadTimeoutError(endpoint_url="https://ecs"), Verdict.RETRY),
        (RetryableError("x"), Verdict.RETRY),
        (PermanentError("x"), Verdict.FAIL),
        (ValueError("x"), Verdict.FAIL),
    ],
)
def test_classify_exception_table(exc, verdict):
    assert classify_exception(exc) is verdict


def test_describe_failures_lists_every_reason_detail_and_arn():
    text = describe_failures([{"arn": "arn:a", "reason": "MISSING", "detail": "subnet gone"}, {"reason": "ATTRIBUTE"}])
    assert text == "- reason=MISSING, detail=subnet gone, arn=arn:a\n- reason=ATTRIBUTE"


def test_classified_names_what_was_being_done():
    retry = classified(_client_error("ThrottlingException", "Rate exceeded", 400), "Starting the task (RunTask)")
    assert isinstance(retry, RetryableError)
    assert str(retry) == "Starting the task (RunTask) failed: ThrottlingException: Rate exceeded"
    fail = classified(_client_error("ClusterNotFoundException", "Cluster not found.", 400), "RunTask")
    assert isinstance(fail, PermanentError) and "ClusterNotFoundException" in fail.reason
