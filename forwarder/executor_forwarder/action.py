"""The datahub-actions plugin `aws_sqs_executor_forwarder`: DataHub execution requests -> the command queue.

Delivery: `act()` returns only after SQS has accepted the message, and raises when it could
not, so the pipeline does not acknowledge (commit) an event whose message is not on the
queue, provided the pipeline runs with `failure_mode: THROW` (see forwarder/README.md).
Events that are not ours are logged and acknowledged. A run request of ours that cannot go on
the queue (larger than the queue takes, or an aspect the event does not let us decode) is
reported as FAILURE in DataHub through the pipeline's `datahub:` connection, so that it does
not stay Pending forever. When DataHub cannot be reached for that (to read whose request it is, or
to write the FAILURE), `act()` raises `DataHubUnavailable` instead of acknowledging, like a failed
send: the event comes back once GMS does.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from typing import Any

from datahub_actions.action.action import Action
from datahub_actions.event.event_envelope import EventEnvelope
from datahub_actions.pipeline.pipeline_context import PipelineContext
from executor_common.contract import INPUT_ASPECT
from executor_common.errors import GmsError, RetryableError

from executor_forwarder.config import ForwarderConfig
from executor_forwarder.sqs_sender import SqsSender, make_sqs_client
from executor_forwarder.stack_outputs import resolve_queue_url
from executor_forwarder.translate import Forward, Skip, SkipKind, decide, is_claimed_test_connection

logger = logging.getLogger(__name__)

#: `https://sqs.<region>.amazonaws.com/...` and the legacy `https://<region>.queue.amazonaws.com/...`.
_QUEUE_URL_REGION = re.compile(r"^https://(?:sqs[.-]([a-z0-9-]+)|([a-z0-9-]+)\.queue)\.amazonaws\.com(?:\.cn)?/")
_SKIP_LOG_LEVEL = {SkipKind.UNRELATED: logging.DEBUG, SkipKind.OTHER_EXECUTOR: logging.INFO}
FAILURE_REPORT_HEADER = "The remote executor's forwarder could not put this request on the command queue.\n"


def build_sender(config: ForwarderConfig) -> SqsSender:
    """AWS clients from the usual boto3 credential chain (or the named profile); the queue from config or stack."""
    import boto3

    region = config.aws_region or region_from_queue_url(config.queue_url)
    session = boto3.Session(profile_name=config.aws_profile, region_name=region)
    queue_url = config.queue_url
    if queue_url is None:
        assert config.stack_name is not None  # guaranteed by ForwarderConfig
        cloudformation = session.client("cloudformation", endpoint_url=config.aws_endpoint_url)
        queue_url = resolve_queue_url(cloudformation, config.stack_name)
    return SqsSender(make_sqs_client(session, config), queue_url, config.retry)


def _aspect_name(envelope: EventEnvelope) -> str | None:
    try:
        return getattr(envelope.event, "aspectName", None)
    except Exception:  # avrogen wrappers raise on a malformed inner dict
        return None


def region_from_queue_url(queue_url: str | None) -> str | None:
    match = _QUEUE_URL_REGION.match(queue_url or "")
    return (match.group(1) or match.group(2)) if match else None


class DataHubUnavailable(RetryableError):
    """DataHub could not be asked whose request this is, or told that it failed: do not acknowledge the event."""


def gms_failure(exc: BaseException) -> GmsError | None:
    """The GMS failure behind a DataHubGraph exception (requests' errors, wrapped in OperationalError or not).

    None for anything else (a bug in the event or in this code), which must not stall the pipeline.
    """
    import requests

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, requests.HTTPError) and seen.response is not None:
            return GmsError(str(seen), seen.response.status_code)
        if isinstance(seen, requests.RequestException):
            return GmsError(str(seen))
        seen = seen.__cause__ or seen.__context__
    return None


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
        self._claimed_ids = frozenset(config.claim_test_connections_for)
        self.counts: Counter[str] = Counter()
        logger.info(
            "Forwarding execution requests for executor ids %s to %s", sorted(self._executor_ids), sender.queue_url
        )
        if self._claimed_ids:
            logger.info(
                "Claiming TEST_CONNECTION requests for executor ids %s as %r",
                sorted(self._claimed_ids),
                config.claim_as,
            )
        self._graph = ctx.graph.graph if ctx is not None and ctx.graph is not None else None
        if self._graph is None:
            logger.warning(
                "The pipeline has no `datahub:` connection: a request that cannot be queued (too large, "
                "undecodable) can only be logged, and stays Pending in DataHub"
            )

    def act(self, event: EventEnvelope) -> bool:
        """True once the message is on the queue (or the event is skipped or reported).

        Raises `SendFailed` (SQS) or `DataHubUnavailable` (GMS) otherwise, so the event is not acknowledged.
        """
        try:
            decision = decide(event, self._executor_ids, self._claimed_ids, self.config.claim_as)
        except Exception as exc:  # a bad event must never stop the pipeline
            decision = Skip(SkipKind.INVALID, f"unexpected {type(exc).__name__} while reading the event")
        if isinstance(decision, Skip):
            self._skip(decision)
            if (
                decision.kind == SkipKind.UNDECODABLE
                and decision.entity_urn
                and _aspect_name(event) == INPUT_ASPECT  # an unreadable cancel must not fail a run that goes on
                and self._stored_request_is_ours(decision)
            ):
                self._report_failure(
                    decision.entity_urn, f"DataHub's change event could not be read: {decision.reason}."
                )
            return True
        size = len(decision.body.encode())
        if size > self.config.max_message_bytes:
            reason = (
                f"The request is {size} bytes as a queue message; the command queue takes at most "
                f"{self.config.max_message_bytes} bytes (SQS allows 1 MiB). Make the recipe smaller, e.g. move "
                "long lists or inline files out of it."
            )
            self._skip(Skip(SkipKind.INVALID, reason, decision.entity_urn))
            if decision.aspect_name == INPUT_ASPECT:
                self._report_failure(decision.entity_urn, reason)
            return True
        self._send(decision)
        return True

    def close(self) -> None:
        logger.info("Forwarder closing: %s", dict(self.counts))
        self.sender.close()

    def _send(self, decision: Forward) -> None:
        label = f"{decision.aspect_name} of {decision.entity_urn}"
        if decision.claimed_from is not None:
            logger.info("Claiming the TEST_CONNECTION %s (executorId %r)", decision.entity_urn, decision.claimed_from)
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

    def _stored_request_is_ours(self, skip: Skip) -> bool:
        """Whether the run request GMS stored under this URN is for one of our executor ids (or a claimed test).

        The event could not be read, so GMS's copy decides: FAILURE is never written onto a request
        that another executor owns.
        """
        if self._graph is None or skip.entity_urn is None:
            return False
        from datahub.metadata.schema_classes import ExecutionRequestInputClass

        try:
            stored: Any = self._graph.get_aspect(skip.entity_urn, ExecutionRequestInputClass)
        except Exception as exc:
            self._raise_if_datahub_unavailable(exc, f"read {skip.entity_urn} from DataHub to see whose it is")
            logger.error("Could not read %s from DataHub to see whose it is: %s", skip.entity_urn, type(exc).__name__)
            return False
        if stored is None:
            return False
        aspect = {"task": stored.task, "executorId": stored.executorId}
        return stored.executorId in self._executor_ids or is_claimed_test_connection(
            INPUT_ASPECT, aspect, self._claimed_ids
        )

    def _report_failure(self, entity_urn: str, reason: str) -> None:
        """FAILURE in DataHub with the reason; best effort (logged), so one bad event never stops the pipeline."""
        if self._graph is None:
            self.counts["failure_unreported"] += 1
            logger.error(
                "%s stays Pending in DataHub: %s Add a `datahub:` connection to the pipeline so the forwarder "
                "can report it.",
                entity_urn,
                reason,
            )
            return
        from datahub.emitter.mcp import MetadataChangeProposalWrapper
        from datahub.metadata.schema_classes import ExecutionRequestResultClass
        from executor_common.status import ExecutionStatus

        result = ExecutionRequestResultClass(
            status=ExecutionStatus.FAILURE.value,
            report=FAILURE_REPORT_HEADER + reason + "\n",
            startTimeMs=int(time.time() * 1000),
            durationMs=0,
        )
        try:
            self._graph.emit_mcp(MetadataChangeProposalWrapper(entityUrn=entity_urn, aspect=result))
        except Exception as exc:
            self._raise_if_datahub_unavailable(exc, f"report FAILURE for {entity_urn} in DataHub")
            self.counts["failure_unreported"] += 1
            logger.error("Could not report FAILURE for %s in DataHub (%s): %s", entity_urn, type(exc).__name__, reason)
            return
        self.counts["failure_reported"] += 1
        logger.warning("Reported FAILURE for %s in DataHub: %s", entity_urn, reason)

    def _raise_if_datahub_unavailable(self, exc: Exception, what: str) -> None:
        """GMS down, slow or refusing who we are: the event must come back, not be acknowledged unreported."""
        failure = gms_failure(exc)
        if failure is None or not failure.retryable:
            return
        self.counts["unacknowledged"] += 1
        status = f"HTTP {failure.status_code}" if failure.status_code else type(exc).__name__
        logger.error("Could not %s (%s); the event stays unacknowledged", what, status)
        raise DataHubUnavailable(f"Could not {what} ({status})") from exc

    def _skip(self, skip: Skip) -> None:
        self.counts[f"skipped_{skip.kind}"] += 1
        logger.log(
            _SKIP_LOG_LEVEL.get(skip.kind, logging.WARNING),
            "Skipping event%s: %s",
            f" for {skip.entity_urn}" if skip.entity_urn else "",
            skip.reason,
        )


__all__ = ["DataHubUnavailable", "SqsExecutorForwarderAction", "build_sender", "gms_failure"]
