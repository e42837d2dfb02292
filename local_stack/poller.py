"""The SQS event-source mapping, played locally: long-poll a queue, invoke a function, delete what succeeded.

Like Lambda's mapping with `ReportBatchItemFailures`: a batch is deleted except the records
the function lists in `batchItemFailures`; those (and a whole batch whose invocation raised)
come back after the visibility timeout, and moto's redrive policy moves a record that keeps
failing to the DLQ. Several batches run at once (Lambda scales its pollers too).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from local_stack.event_shapes import records_to_delete, sqs_event

logger = logging.getLogger(__name__)


#: Batches of one mapping handled at once (a function's reserved concurrency caps it, as on Lambda).
DEFAULT_CONCURRENCY = 2


@dataclass(frozen=True)
class MappingConfig:
    queue_url: str
    queue_arn: str
    region: str
    batch_size: int = 10
    #: Short locally, so a failed record comes back in seconds rather than the template's minutes.
    visibility_timeout_seconds: int = 20
    wait_time_seconds: int = 1
    concurrency: int = DEFAULT_CONCURRENCY


class SqsPoller:
    """Polls one queue on background threads and hands each batch to `invoke` (a `LocalFunction.invoke`)."""

    def __init__(self, sqs: Any, config: MappingConfig, invoke: Callable[[dict[str, Any]], Any], name: str) -> None:
        self._sqs = sqs
        self._config = config
        self._invoke = invoke
        self.name = name
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.invocations = 0
        self.errors = 0

    @property
    def queue_url(self) -> str:
        return self._config.queue_url

    def start(self) -> SqsPoller:
        for index in range(self._config.concurrency):
            thread = threading.Thread(target=self._loop, name=f"{self.name}-poll-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def set_visibility_timeout(self, seconds: int) -> None:
        """How long a failed record stays hidden from now on (what the queue's VisibilityTimeout would say)."""
        self._config = replace(self._config, visibility_timeout_seconds=seconds)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self._config.wait_time_seconds + 30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                if self._stop.is_set():
                    return
                logger.exception("%s: polling failed; retrying", self.name)
                self._stop.wait(1.0)

    def poll_once(self) -> int:
        """Receive one batch, invoke, delete the successes; returns the number of messages received."""
        response = self._sqs.receive_message(
            QueueUrl=self._config.queue_url,
            MaxNumberOfMessages=self._config.batch_size,
            WaitTimeSeconds=self._config.wait_time_seconds,
            VisibilityTimeout=self._config.visibility_timeout_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        event = sqs_event(messages, self._config.queue_arn, self._config.region)
        self.invocations += 1
        try:
            result = self._invoke(event)
        except Exception:
            # Lambda: an invocation error returns the whole batch to the queue.
            self.errors += 1
            logger.exception("%s: the function raised; %d message(s) come back later", self.name, len(messages))
            return len(messages)
        done = records_to_delete(messages, result)
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._config.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        if len(done) < len(messages):
            logger.info(
                "%s: %d of %d record(s) failed; they come back later",
                self.name,
                len(messages) - len(done),
                len(messages),
            )
        return len(messages)
