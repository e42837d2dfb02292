"""The datahub-actions plugin `aws_sqs_executor_forwarder`: DataHub execution requests -> the command queue.

Delivery: `act()` returns only after SQS has accepted the message, and raises when it could
not, so the pipeline does not acknowledge (commit) an event whose message is not on the
queue, provided the pipeline runs with `failure_mode: THROW` (see forwarder/README.md).
Events that are not ours or cannot be parsed are logged and acknowledged.
"""

from __future__ import annotations

import logging
import re
from collections import Counter

from datahub_actions.action.action import Action
from datahub_actions.event.event_envelope import EventEnvelope
from datahub_actions.pipeline.pipeline_context import PipelineContext

from executor_forwarder.config import ForwarderConfig
from executor_forwarder.sqs_sender import SqsSender, make_sqs_client
from executor_forwarder.stack_outputs import resolve_queue_url
from executor_forwarder.translate import Forward, Skip, SkipKind, decide

logger = logging.getLogger(__name__)

#: `https://sqs.<region>.amazonaws.com/...` and the legacy `https://<region>.queue.amazonaws.com/...`.
_QUEUE_URL_REGION = re.compile(r"^https://(?:sqs[.-]([a-z0-9-]+)|([a-z0-9-]+)\.queue)\.amazonaws\.com(?:\.cn)?/")
_SKIP_LOG_LEVEL = {SkipKind.UNRELATED: logging.DEBUG, SkipKind.OTHER_EXECUTOR: logging.INFO}


def build_sender(config: ForwarderConfig) -> SqsSender:
    """AWS clients from the usual boto3 credential chain (or the named profile); the queue from config or stack."""
    import boto3

    region = config.aws_region or _region_from_queue_url(config.queue_url)
    session = boto3.Session(profile_name=config.aws_profile, region_name=region)
    queue_url = config.queue_url
    if queue_url is None:
        assert config.stack_name is not None  # guaranteed by ForwarderConfig
        cloudformation = session.client("cloudformation", endpoint_url=config.aws_endpoint_url)
        queue_url = resolve_queue_url(cloudformation, config.stack_name)
    return SqsSender(make_sqs_client(session, config), queue_url, config.retry)


def _region_from_queue_url(queue_url: str | None) -> str | None:
    match = _QUEUE_URL_REGION.match(queue_url or "")
    return (match.group(1) or match.group(2)) if match else None


class SqsExecutorForwarderAction(Action):
    """Forwards `dataHubExecutionRequestInput` / `...Signal` changes for the configured executor ids to SQS."""

    @classmethod
    def create(cls, config_dict: dict, ctx: PipelineContext) -> SqsExecutorForwarderAction:
        config = ForwarderConfig.model_validate(config_dict or {})
        return cls(config, ctx, build_sender(config))

    def __init__(self, config: ForwarderConfig, ctx: PipelineContext, sender: SqsSender) -> None:
        self.config = config
        self.ctx = ctx
        self.sender = sender
        self._executor_ids = frozenset(config.executor_ids)
        self.counts: Counter[str] = Counter()
        logger.info(
            "Forwarding execution requests for executor ids %s to %s", sorted(self._executor_ids), sender.queue_url
        )

    def act(self, event: EventEnvelope) -> bool:
        """True once the message is on the queue (or the event is skipped); raises `SendFailed` otherwise."""
        try:
            decision = decide(event, self._executor_ids)
        except Exception as exc:  # a bad event must never stop the pipeline
            decision = Skip(SkipKind.INVALID, f"unexpected {type(exc).__name__} while reading the event")
        if isinstance(decision, Skip):
            self._skip(decision)
            return True
        if len(decision.body.encode()) > self.config.max_message_bytes:
            self._skip(
                Skip(
                    SkipKind.INVALID,
                    f"the message would exceed {self.config.max_message_bytes} bytes (SQS limit)",
                    decision.entity_urn,
                )
            )
            return True
        self._send(decision)
        return True

    def close(self) -> None:
        logger.info("Forwarder closing: %s", dict(self.counts))
        self.sender.close()

    def _send(self, decision: Forward) -> None:
        label = f"{decision.aspect_name} of {decision.entity_urn}"
        if decision.problem:
            logger.warning("Forwarding %s although it is malformed, so DataHub shows why: %s", label, decision.problem)
        try:
            message_id = self.sender.send(decision.body, self._attributes(decision), label=label)
        except Exception:
            self.counts["failed"] += 1
            logger.error("Could not put %s on the command queue; the event stays unacknowledged", label)
            raise
        self.counts["forwarded"] += 1
        logger.info("Forwarded %s (executorId %s) as SQS message %s", label, decision.executor_id, message_id)

    def _attributes(self, decision: Forward) -> dict[str, str] | None:
        if not self.config.message_attributes:
            return None
        return {"executorId": decision.executor_id, "aspectName": decision.aspect_name}

    def _skip(self, skip: Skip) -> None:
        self.counts[f"skipped_{skip.kind}"] += 1
        logger.log(
            _SKIP_LOG_LEVEL.get(skip.kind, logging.WARNING),
            "Skipping event%s: %s",
            f" for {skip.entity_urn}" if skip.entity_urn else "",
            skip.reason,
        )


__all__ = ["SqsExecutorForwarderAction", "build_sender"]
