"""Lambda entry point: SQS batch -> one `handle_message` call per record, partial batch response.

Thin on purpose: decorators, the batch processor, and the container's adapters built once
(lazily, so importing this module stays cheap and creates no boto3 client).
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from executor_common.aws.errors import CapacityUnavailable, RunTaskThrottled
from executor_common.contract import recover_execution_urn
from executor_common.errors import RetryableError
from executor_common.runspec import RUNNER_CONTAINER_NAME
from executor_common.token_bucket import container_bucket

from dispatcher.admission import MustWait
from dispatcher.budget import OutOfTime, TimeBudget
from dispatcher.gms_guard import GuardedGms
from dispatcher.line import FRONT_CHECK_SECONDS, FRONT_OF_LINE, WaitingLine, place_of_body
from dispatcher.logic import Dependencies, MessageOutcome, handle_message, write_failure
from dispatcher.observability import logger, metrics, tracer
from dispatcher.overlap import OverlapSkipped, Superseded, report_skipped
from dispatcher.retries import Delivery, RetryPolicy, after_retryable
from dispatcher.secret_resolution import SecretResolver
from dispatcher.settings import DispatcherSettings, get_settings
from dispatcher.task_definitions import TaskDefinitionResolver
from dispatcher.vcpu_limit import limit_now
from dispatcher.waiting import WaitPolicy, make_wait, recorded_since, send_back_soon, waiting_since

RETRIED_METRIC = "RunsRetried"
QUEUE_WAIT_METRIC = "QueueWaitSeconds"
GAVE_UP_METRIC = "RunsGivenUp"
WAITING_METRIC = "RunsWaiting"
SKIPPED_METRIC = "RunsSkipped"
THROTTLED_METRIC = "RunTaskThrottled"
#: A place in the waiting line not refreshed for this many checks (plus 30 s) no longer counts.
LINE_STALE_CHECKS = 3

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@functools.cache
def dependencies() -> Dependencies:
    """The adapters of this container, GMS client included; their caches live as long as it does."""
    return build_dependencies(get_settings())


def build_dependencies(settings: DispatcherSettings) -> Dependencies:
    """A container's adapters, its RunTask pace included (a test builds several to play several containers)."""
    from executor_common.aws.ecs import EcsAdapter, make_ecs_client
    from executor_common.aws.quotas import QuotasAdapter, make_quotas_client
    from executor_common.aws.s3 import S3Adapter, make_s3_client
    from executor_common.aws.secretsmanager import SecretsManagerAdapter, make_secretsmanager_client
    from executor_common.aws.slots import RunSlots
    from executor_common.aws.source_lease import SourceLeases
    from executor_common.aws.vcpu_ledger import VcpuLedger
    from executor_common.gms_factory import make_gms_client

    from dispatcher.vcpu_limit import VcpuLimit

    pace = container_bucket(settings.run_task_rate, settings.dispatcher_max_concurrency)
    quota_default = settings.max_concurrent_vcpus == "quota"
    quotas = QuotasAdapter(make_quotas_client(settings.aws_region)) if quota_default else None
    s3 = S3Adapter(make_s3_client(settings.aws_region))
    ecs = EcsAdapter(make_ecs_client(settings.aws_region), settings.ecs_cluster, run_task_gate=pace.take)
    return Dependencies(
        settings=settings,
        ecs=ecs,
        s3=s3,
        secrets=SecretResolver(
            SecretsManagerAdapter(make_secretsmanager_client(settings.aws_region)),
            settings.secret_arns,
            settings.secret_name_prefix,
        ),
        task_definitions=TaskDefinitionResolver(ecs, settings.task_definition_arn, RUNNER_CONTAINER_NAME),
        gms=GuardedGms(make_gms_client(settings.datahub_gms_url, settings.datahub_gms_token_secret_arn)),
        pace=pace,
        # Read only when a limit is set: without one there are no slots to take turns for.
        line=WaitingLine(s3, settings.run_bucket, LINE_STALE_CHECKS * settings.wait_check_seconds + 30)
        if settings.max_concurrent_runs or settings.vcpu_limit_set
        else None,
        # MaxConcurrentRuns made exact across parallel dispatchers; none without that limit (no S3 call).
        slots=RunSlots(s3.client, settings.run_bucket, settings.max_concurrent_runs)
        if settings.max_concurrent_runs
        else None,
        # MaxConcurrentVcpus exact across dispatchers: the ledger, with the limit (a number, or the account's quota
        # read once per VCPU_QUOTA_TTL_SECONDS); none with MaxConcurrentVcpus=0 (no S3, no Service Quotas call).
        vcpus=VcpuLedger(s3.client, settings.run_bucket, create_if_absent=True) if settings.vcpu_limit_set else None,
        vcpu_limit=VcpuLimit.of(settings, quotas),
        # Read and written only for runs under skip/queue/replace (dispatcher/overlap.py).
        leases=SourceLeases(s3.client, settings.run_bucket),
    )


@functools.cache
def command_queue() -> Any:
    """The SQS adapter for the command queue (retry delays, runs sent back to wait)."""
    from executor_common.aws.sqs import SqsAdapter, make_sqs_client

    return SqsAdapter(make_sqs_client(get_settings().aws_region))


@tracer.capture_method
def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    """One record; BatchProcessor passes `lambda_context` because this signature names it.

    A run that had waited and now no longer waits (launched, refused, given up) leaves the waiting line.
    """
    since = recorded_since(record)
    line = _line_in_use(dependencies())
    if not _handle_record(record, lambda_context, since) and since is not None and line is not None:
        place = place_of_body(record.body, since)
        if place is not None:
            line.leave(place)


def _handle_record(record: SQSRecord, lambda_context: LambdaContext | None, since: int | None) -> bool:
    """Handle one record; True when its run still waits (sent back), False when it is done with."""
    try:
        redelivered = (record.attributes.approximate_receive_count or "1") != "1"
        outcome = handle_message(record.body, dependencies(), TimeBudget.of(lambda_context), since, redelivered)
    except (MustWait, CapacityUnavailable) as exc:
        return _wait(record, exc)
    except RunTaskThrottled as exc:
        _throttled(record, str(exc))
        return True
    except OutOfTime as exc:  # nothing was tried: no attempt spent, no backoff
        _send_back(record)
        logger.info(
            "Too little of this invocation left; the message is tried again in seconds", extra={"reason": str(exc)}
        )
        return True
    except OverlapSkipped as exc:
        deps = dependencies()
        urn = recover_execution_urn(record.body) or ""
        report_skipped(urn, exc.reason, deps.gms, deps.clock_ms(), superseded=isinstance(exc, Superseded))
        metrics.add_metric(name=SKIPPED_METRIC, unit=MetricUnit.Count, value=1)
        return False
    except RetryableError as exc:
        logger.warning("Will retry this message", extra={"reason": str(exc)[:1000], "message_id": record.message_id})
        deps = dependencies()
        policy = RetryPolicy(
            deps.settings.max_receive_count, deps.settings.retry_base_seconds, deps.settings.retry_max_seconds
        )
        try:
            after_retryable(  # re-raises, unless this was the last attempt and DataHub now shows why
                record.body,
                exc,
                Delivery.of(record),
                policy,
                command_queue(),
                lambda urn, reason, test: write_failure(urn, reason, deps, test_connection=test),
                deps.clock_ms(),
            )
        except RetryableError:
            metrics.add_metric(name=RETRIED_METRIC, unit=MetricUnit.Count, value=1)
            raise
        metrics.add_metric(name=GAVE_UP_METRIC, unit=MetricUnit.Count, value=1)
        return False
    metrics.add_metric(name=outcome.value, unit=MetricUnit.Count, value=1)
    sent_ms = record.attributes.sent_timestamp
    if outcome == MessageOutcome.LAUNCHED and sent_ms and sent_ms.isdigit():  # the dashboard's "time to RUNNING"
        waited = max(0.0, time.time() - int(sent_ms) / 1000)
        metrics.add_metric(name=QUEUE_WAIT_METRIC, unit=MetricUnit.Seconds, value=round(waited, 3))
    return False


def _line_in_use(deps: Dependencies) -> WaitingLine | None:
    """The waiting line while a limit applies: with `MaxConcurrentVcpus=quota` and the quota unreadable there is
    none, and nothing to take turns for."""
    return deps.line if deps.settings.max_concurrent_runs or limit_now(deps.settings, deps.vcpu_limit) > 0 else None


def _wait(record: SQSRecord, exc: MustWait | CapacityUnavailable) -> bool:
    """No room now: the run goes back to the queue with a delay, PENDING in DataHub (or FAILURE after the max wait).

    A run waiting for room holds its place in the waiting line; near the front it checks again sooner.
    """
    deps = dependencies()
    now_ms = deps.clock_ms()
    place = exc.place if isinstance(exc, MustWait) else None
    since = place.since_ms if place is not None else waiting_since(record, now_ms)  # one time: key and message
    if isinstance(exc, CapacityUnavailable):  # RunTask found no room: in line too (not a run waiting for its source)
        place = place_of_body(record.body, since)
    reason, check_s = str(exc), deps.settings.wait_check_seconds
    ahead = exc.ahead if isinstance(exc, MustWait) else None
    line = _line_in_use(deps)
    if line is not None and place is not None:
        line.join(place)
        if ahead is not None:
            reason = f"{reason}. Place in line: {ahead + 1}"
            check_s = min(check_s, FRONT_CHECK_SECONDS) if ahead < FRONT_OF_LINE else check_s
    waits = make_wait(
        record.body,
        reason,
        since,
        Delivery.of(record).queue_arn,
        WaitPolicy(check_s, deps.settings.max_wait_seconds),
        command_queue(),
        deps.gms,
        lambda urn, why, test: write_failure(urn, why, deps, test_connection=test),
        now_ms,
    )
    metrics.add_metric(name=WAITING_METRIC if waits else GAVE_UP_METRIC, unit=MetricUnit.Count, value=1)
    return waits


def _throttled(record: SQSRecord, reason: str) -> None:
    """ECS throttled RunTask: this container pauses (empty bucket) and the run is sent back to be tried in seconds.

    Neither a failed attempt (the receive count starts again) nor a wait DataHub needs to show.
    """
    deps = dependencies()
    if deps.pace is not None:
        deps.pace.drain()
    _send_back(record)
    logger.warning("RunTask was throttled; the run is tried again in seconds", extra={"reason": reason[:500]})
    metrics.add_metric(name=THROTTLED_METRIC, unit=MetricUnit.Count, value=1)


def _send_back(record: SQSRecord) -> None:
    """The run goes back as a new message, tried again in seconds and keeping its place: not a failed attempt."""
    since = waiting_since(record, dependencies().clock_ms())
    send_back_soon(record.body, since, Delivery.of(record).queue_arn, command_queue())


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


# Validate the environment at cold start in Lambda: a misconfigured stack fails its init, not the tenth
# message. Elsewhere (tests, the local stack) the first record validates it, after the caller set it up.
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    get_settings()
