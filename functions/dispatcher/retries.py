"""Retries that end: a transient launch failure backs off exponentially, and the last attempt is reported.

SQS's receive count is the attempt number (Lambda passes `ApproximateReceiveCount` with each record).
Before the message goes back, its visibility is set to the backoff for that attempt (ChangeMessageVisibility
on the record's receipt handle), so the next attempt comes after 1, 2, 4, 8 ... minutes instead of the queue's
fixed visibility timeout. (A record left untried for lack of invocation time is no attempt: handler.py sends
it back as a new message.) When the attempt that failed is the queue's last (the redrive policy's
`maxReceiveCount`, passed as MAX_RECEIVE_COUNT), the run gets a FAILURE in DataHub that tells its history
and the message is consumed: nothing waits silently in the DLQ. The DLQ keeps only what could not even
be reported (DataHub unreachable on the last attempt, a cancel that could not be carried out).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from executor_common.aws.sqs import SqsAdapter
from executor_common.contract import ExecutionTask, RunCommand, parse_command
from executor_common.errors import RetryableError

from dispatcher.observability import logger


@dataclass(frozen=True)
class Delivery:
    """What SQS says about one delivery of a message: which attempt, since when, and how to touch it."""

    receive_count: int
    first_received_ms: int | None
    receipt_handle: str
    queue_arn: str

    @classmethod
    def of(cls, record: Any) -> Delivery:
        """From a powertools `SQSRecord` (or its raw dict); a missing count reads as the first attempt."""
        raw = record.raw_event if hasattr(record, "raw_event") else record
        attributes = raw.get("attributes") or {}
        first = attributes.get("ApproximateFirstReceiveTimestamp")
        return cls(
            receive_count=max(1, int(attributes.get("ApproximateReceiveCount") or 1)),
            first_received_ms=int(first) if first else None,
            receipt_handle=str(raw.get("receiptHandle", "")),
            queue_arn=str(raw.get("eventSourceARN", "")),
        )


def backoff_seconds(attempt: int, base: int, cap: int, rand: Callable[[], float] = random.random) -> int:
    """Delay before attempt `attempt + 1`: base * 2^(attempt-1), capped, with +-20 % jitter so a burst spreads."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return max(1, min(cap, round(delay * (0.8 + 0.4 * rand()))))


def history(attempts: int, first_received_ms: int | None, now_ms: int, reason: str) -> str:
    """'tried 5 times over 32 minutes: <last reason>' - what DataHub shows when the retries end."""
    span = ""
    if first_received_ms is not None:
        minutes = max(0, now_ms - first_received_ms) / 60000
        span = f" over {minutes:.0f} minute{'s' if round(minutes) != 1 else ''}"
    return f"tried {attempts} time{'s' if attempts != 1 else ''}{span}: {reason}"


@dataclass(frozen=True)
class RetryPolicy:
    max_receive_count: int
    base_seconds: int
    max_seconds: int


def after_retryable(
    body: str,
    error: RetryableError,
    delivery: Delivery,
    policy: RetryPolicy,
    queue: SqsAdapter,
    report_failure: Callable[[str, str, bool], None],
    now_ms: int,
) -> None:
    """A record failed with `error`: back off and re-raise, or (last attempt) report the run and return.

    `report_failure(urn, reason, test_connection)` writes FAILURE to DataHub; it raises RetryableError when
    DataHub cannot take it, and then the message goes to the DLQ, the one thing the DLQ is for.
    """
    if delivery.receive_count >= policy.max_receive_count:
        command = _run_command(body)
        if isinstance(command, RunCommand):
            told = history(delivery.receive_count, delivery.first_received_ms, now_ms, str(error))
            reason = f"Gave up launching this run: {told}"
            report_failure(command.entityUrn, reason, command.aspect.task == ExecutionTask.TEST_CONNECTION)
            logger.error("Retries exhausted; reported FAILURE to DataHub", extra={"history": told[:1000]})
            return
        logger.error("Retries exhausted for a message with no run to report; it goes to the DLQ")
        raise error
    delay = backoff_seconds(delivery.receive_count, policy.base_seconds, policy.max_seconds)
    try:
        queue.change_visibility(queue.queue_url(delivery.queue_arn), delivery.receipt_handle, delay)
    except RetryableError as exc:
        # The queue's own visibility timeout still brings the message back: a slower retry, not a lost one.
        logger.warning("Could not set the retry delay", extra={"error": str(exc)[:300]})
        raise error from None
    logger.info("Retrying later", extra={"attempt": delivery.receive_count, "delay_seconds": delay})
    raise error


def _run_command(body: str) -> RunCommand | None:
    """The run this body asks for; None for a signal (a cancel has no run to fail) or an unreadable body."""
    try:
        command = parse_command(body)
    except Exception:  # an unparseable body was rejected on its first attempt; here it only means "no run"
        return None
    return command if isinstance(command, RunCommand) else None
