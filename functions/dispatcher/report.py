"""The statuses the dispatcher writes to DataHub and their texts: RUNNING, FAILURE, CANCELLED."""

from __future__ import annotations

from urllib.parse import quote

from executor_common.log_streams import runner_log_stream
from executor_common.results import ExecutionRequestResult, note_lines
from executor_common.status import ExecutionStatus
from executor_common.test_connection import refused_test_connection

from dispatcher.settings import DispatcherSettings
from dispatcher.validation import ValidatedRun


def _console_encode(value: str) -> str:
    """The CloudWatch console's fragment encoding: URL-encode twice, then `%` -> `$` (`/` -> `$252F`)."""
    return quote(quote(value, safe=""), safe="").replace("%", "$")


def log_stream_name(settings: DispatcherSettings, task_arn: str) -> str:
    return runner_log_stream(settings.log_stream_prefix, task_arn)


def log_console_url(settings: DispatcherSettings, task_arn: str) -> str:
    region = settings.aws_region
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/"
        f"{_console_encode(settings.log_group_name)}/log-events/{_console_encode(log_stream_name(settings, task_arn))}"
    )


def running_result(
    run: ValidatedRun, settings: DispatcherSettings, task_arn: str, launched_at_ms: int
) -> ExecutionRequestResult:
    """RUNNING with the launch time as `startTimeMs` (the spec's `launched_at_ms`, so the runner keeps it)."""
    report = (
        f"Launched on the remote executor '{settings.executor_id}' as ECS task {task_arn}\n"
        f"Cluster: {settings.ecs_cluster}\n"
        f"Size: CPU {run.size.cpu}, memory {run.size.memory} MiB, "
        f"ephemeral storage {run.size.ephemeral_storage_gib} GiB\n"
        f"Logs: {log_console_url(settings, task_arn)}\n"
    )
    report += note_lines(run.notes)
    return ExecutionRequestResult(status=ExecutionStatus.RUNNING, report=report, startTimeMs=launched_at_ms)


def failure_result(
    reason: str, executor_id: str, now_ms: int, *, test_connection: bool = False
) -> ExecutionRequestResult:
    """FAILURE naming the reason; a refused TEST_CONNECTION as DataHub's executor writes it (the modal shows it)."""
    report = f"The remote executor '{executor_id}' did not start this run.\n{reason}\n"
    if test_connection:
        return refused_test_connection(reason, report=report, start_time_ms=now_ms, duration_ms=0)
    return ExecutionRequestResult(status=ExecutionStatus.FAILURE, report=report, startTimeMs=now_ms, durationMs=0)


def cancelled_result(actor: str, now_ms: int) -> ExecutionRequestResult:
    report = f"Cancelled by {actor}. No running ECS task was found for this run, so nothing had to be stopped.\n"
    return ExecutionRequestResult(status=ExecutionStatus.CANCELLED, report=report, startTimeMs=now_ms, durationMs=0)
