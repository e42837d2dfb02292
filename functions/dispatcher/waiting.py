"""A run that cannot launch now waits: sent back to the command queue with a delay, PENDING in DataHub.

Why a new message with `DelaySeconds` and not a longer visibility on the same one: SQS counts every
receive of a message towards the redrive policy's `maxReceiveCount`, so a run held by visibility would
land in the DLQ after five checks however healthy everything is. A re-sent message starts at receive
count 1 and carries the time it started waiting (`waitingSince`), so the wait is measured by the clock,
and ends (FAILURE) only after MAX_WAIT_SECONDS. The cost: one SendMessage per check and no SQS ordering
between a waiting run and newer ones (see README, "Fleet control").
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from executor_common.aws.sqs import SqsAdapter
from executor_common.contract import ExecutionTask, RunCommand, parse_command
from executor_common.errors import GmsError, RetryableError
from executor_common.fair_queue import message_group_id
from executor_common.results import ExecutionRequestResult
from executor_common.status import ExecutionStatus, is_terminal

from dispatcher.gms_guard import GuardedGms
from dispatcher.observability import logger

#: Message attribute: epoch milliseconds when the run first had to wait.
WAITING_SINCE = "waitingSince"
#: After a throttled RunTask the run comes back in about this many seconds (AWS refills 20 tokens a second).
THROTTLED_RETRY_SECONDS = 2


@dataclass(frozen=True)
class WaitPolicy:
    check_every_seconds: int
    max_wait_seconds: int


def recorded_since(record: Any) -> int | None:
    """When this run started waiting, as the message sent back to wait carries it; None for a new run."""
    raw = record.raw_event if hasattr(record, "raw_event") else record
    attribute = (raw.get("messageAttributes") or {}).get(WAITING_SINCE) or {}
    value = attribute.get("stringValue") or attribute.get("StringValue")
    try:
        return int(value) if value else None
    except ValueError:
        return None


def waiting_since(record: Any, now_ms: int) -> int:
    """When this run started waiting: the attribute a re-sent message carries, else now (its first wait)."""
    since = recorded_since(record)
    return now_ms if since is None else since


def pending_result(reason: str, since_ms: int, now_ms: int, waiting: int | None, next_s: int) -> ExecutionRequestResult:
    """PENDING (the DataHub UI's "Pending", a clock icon) with why, since when and how many wait."""
    started = datetime.fromtimestamp(since_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    minutes = (now_ms - since_ms) / 60000
    line = f"About {waiting} runs are waiting for room in this stack's queue.\n" if waiting is not None else ""
    report = (
        f"Waiting to launch since {started} ({minutes:.0f} min): {reason}\n{line}"
        f"The next check is in about {next_s} s; the run starts as soon as there is room.\n"
    )
    return ExecutionRequestResult(status=ExecutionStatus.PENDING, report=report, startTimeMs=since_ms)


def make_wait(
    body: str,
    reason: str,
    since_ms: int,
    queue_arn: str,
    policy: WaitPolicy,
    queue: SqsAdapter,
    gms: GuardedGms,
    report_failure: Any,
    now_ms: int,
) -> bool:
    """Send the run back to wait and show it PENDING; True. After MAX_WAIT_SECONDS, report FAILURE; False.

    Raises RetryableError when the message cannot be sent back (it then returns by its visibility timeout).
    """
    command = parse_command(body)
    if not isinstance(command, RunCommand):
        raise RetryableError(f"A non-run message cannot wait: {reason}")
    waited_s = (now_ms - since_ms) / 1000
    if waited_s > policy.max_wait_seconds:
        told = f"waited {waited_s / 60:.0f} minutes for room and gave up (MAX_WAIT_SECONDS): {reason}"
        report_failure(
            command.entityUrn,
            f"Gave up launching this run: {told}",
            command.aspect.task == ExecutionTask.TEST_CONNECTION,
        )
        return False
    url = queue.queue_url(queue_arn)
    delay = max(1, round(policy.check_every_seconds * (0.8 + 0.4 * random.random())))
    _show_pending(command.entityUrn, pending_result(reason, since_ms, now_ms, queue.waiting_count(url), delay), gms)
    queue.send_delayed(url, body, delay, {WAITING_SINCE: str(since_ms)}, group_id=message_group_id(body))
    logger.info("Run waits for room", extra={"reason": reason[:500], "delay_seconds": delay, "waited_s": waited_s})
    return True


def send_back_soon(body: str, since_ms: int, queue_arn: str, queue: SqsAdapter) -> None:
    """The run goes back to the queue for a new attempt in a few seconds, keeping its place (`waitingSince`).

    A new message, not a failed record: its receive count starts again, so being throttled never
    counts towards the retries that end in FAILURE. RetryableError when SQS refuses it (then the
    record fails and comes back by its visibility, still not lost).
    """
    delay = max(1, round(THROTTLED_RETRY_SECONDS * (0.5 + random.random())))
    queue.send_delayed(
        queue.queue_url(queue_arn), body, delay, {WAITING_SINCE: str(since_ms)}, group_id=message_group_id(body)
    )


def _show_pending(urn: str, result: ExecutionRequestResult, gms: GuardedGms) -> None:
    """Best effort: a waiting run is not held up by DataHub being down, and never overwrites a final status."""
    try:
        current = gms.read_result(urn, best_effort=True)
        if current is not None and (is_terminal(current.status) or current.status == ExecutionStatus.RUNNING):
            return
        gms.write_result(urn, result, best_effort=True)
    except GmsError as exc:
        logger.warning("Could not show the run as waiting in DataHub", extra={"error": str(exc)[:300]})
