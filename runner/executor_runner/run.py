"""One run, start to finish: spec → secrets → (install) → child → report. Returns the exit code.

Exit codes (the container's, as ECS shows them): 0 SUCCESS, 1 FAILURE (the ingestion
failed, timed out, ran out of memory, a secret or a package was missing), 2 CANCELLED
(SIGTERM: a cancel from DataHub or a Spot reclaim), 3 the runner could not start (bad
settings, no run spec) and could not report. They reflect the ingestion even when GMS
refused the status write.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urlparse

from executor_common.durations import human_duration
from executor_common.errors import PermanentError
from executor_common.masking import SecretMasker
from executor_common.recipe import parse_recipe, source_type
from executor_common.results import ExecutionRequestResult, StructuredExecutionReport
from executor_common.runspec import ENV_EXECUTION_REQUEST_URN, RunSpec
from executor_common.status import ExecutionStatus

from executor_runner import child_input, plugins
from executor_runner.oom import CGROUP_ROOT, memory_limit, oom_message
from executor_runner.relay import LogRelay
from executor_runner.report import RunOutcome, render_progress, render_report
from executor_runner.reporter import ProgressReporter, write_terminal
from executor_runner.settings import RunnerSettings
from executor_runner.spec import S3TextReader, load_run_spec
from executor_runner.supervisor import ChildExit, StopReason, StopSwitch, Supervisor
from executor_runner.tail import LogTail
from executor_runner.task_metadata import TaskMetadata, fetch_task_metadata

if TYPE_CHECKING:
    from executor_common.gms import GmsClient

logger = logging.getLogger(__name__)

EXIT_CODES = {ExecutionStatus.SUCCESS: 0, ExecutionStatus.FAILURE: 1, ExecutionStatus.CANCELLED: 2}
EXIT_CANNOT_START = 3
#: After SIGTERM the task has stopTimeout (120 s) minus the kill grace left; the reconciler covers the rest.
STOPPING_WRITE_DEADLINE_SECONDS = 60.0
CANCELLED_HEADLINE = (
    "The run was cancelled: its ECS task was stopped (a cancel from DataHub, a StopTask, or a Spot capacity reclaim)."
)


@dataclass
class RunContext:
    settings: RunnerSettings
    env: Mapping[str, str]
    spec: RunSpec
    relay: LogRelay
    stop: StopSwitch
    run_dir: Path
    metadata: TaskMetadata
    cgroup_root: Path


def execute(
    settings: RunnerSettings,
    env: Mapping[str, str],
    out: BinaryIO,
    stop: StopSwitch,
    masker: SecretMasker,
    *,
    read_s3_text: S3TextReader | None = None,
    cgroup_root: Path = CGROUP_ROOT,
) -> int:
    start_ms = int(time.time() * 1000)
    masker.add(settings.token, *_url_passwords(settings.pip_index_url, settings.pip_extra_index_url))
    try:
        spec = load_run_spec(env, read_s3_text)
    except Exception as exc:
        return _report_unreadable_spec(settings, env, _gms_client(settings), exc, start_ms)
    # Every attached secret is maskable before anything can print it, even if the run fails early.
    masker.add(*(env.get(name) for name in spec.secret_names))

    settings.work_dir.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix=f"run-{_safe(spec.execution_id)}-", dir=settings.work_dir))
    (run_dir / "tmp").mkdir()
    log_path = run_dir / "full.log"
    tail = LogTail(settings.tail_max_lines)
    metadata = fetch_task_metadata(settings.metadata_uri)

    def progress_text() -> str:
        silent = tail.seconds_since_output()
        stale = silent is not None and silent >= settings.stale_log_seconds
        return masker.mask(
            render_progress(
                tail.render(settings.progress_tail_lines, settings.progress_tail_bytes),
                tail.last_output_wall if stale else None,
                settings.stale_log_seconds,
            )
        )

    kickoff = f"Run started by executor '{spec.executor_id}'" + (
        f" in ECS task {metadata.task_arn}" if metadata.task_arn else ""
    )
    progress = ProgressReporter(
        lambda: _gms_client(settings, progress=True),
        spec.execution_request_urn,
        start_ms,
        progress_text,
        settings.progress_interval_seconds,
    )
    # The full log is only kept for the run folder: without a run bucket, stdout (CloudWatch) is the full log.
    with log_path.open("wb") if settings.run_bucket else contextlib.nullcontext() as log_file:
        relay = LogRelay(masker, tail, out, log_file, settings.max_log_file_bytes)
        progress.start(kickoff)
        ctx = RunContext(settings, env, spec, relay, stop, run_dir, metadata, cgroup_root)
        try:
            outcome = _run(ctx)
        except PermanentError as exc:
            outcome = RunOutcome(status=ExecutionStatus.FAILURE, headline=exc.reason)
            outcome.error(exc.reason)
            relay.note(exc.reason)
        except Exception as exc:  # a runner bug still ends as a FAILURE in DataHub
            logger.exception("The runner failed")
            outcome = RunOutcome(status=ExecutionStatus.FAILURE, headline=f"The runner failed: {type(exc).__name__}")
            outcome.error(masker.mask(f"The runner failed: {exc!r}"))
        if stop.tripped and outcome.status == ExecutionStatus.FAILURE and stop.reason == StopReason.CANCELLED:
            outcome = _cancelled()
        relay.flush()
    progress.stop()

    try:
        _finish(settings, spec, outcome, tail, out, masker, _gms_client(settings), log_path, start_ms, stop)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    return EXIT_CODES.get(outcome.status, 1)


def _finish(
    settings: RunnerSettings,
    spec: RunSpec,
    outcome: RunOutcome,
    tail: LogTail,
    out: BinaryIO,
    masker: SecretMasker,
    client: GmsClient,
    log_path: Path,
    start_ms: int,
    stop: StopSwitch,
) -> None:
    """Render, keep (stdout, run folder) and deliver the terminal result."""
    report = masker.mask(
        render_report(spec.task, spec.execution_id, outcome, tail.render(None, settings.tail_max_bytes))
    )
    structured = masker.mask(outcome.structured_report) if outcome.structured_report else None
    result = ExecutionRequestResult(
        status=outcome.status,
        report=report,
        structuredReport=StructuredExecutionReport(type=spec.task, serializedValue=structured) if structured else None,
        startTimeMs=start_ms,
        durationMs=int(time.time() * 1000) - start_ms,
    )
    _print_final(out, report, structured)
    _upload_run_folder(settings, spec, log_path, report, structured)
    deadline = settings.terminal_write_deadline_seconds
    if stop.tripped:  # ECS SIGKILLs the task stopTimeout after SIGTERM: retry only while we still can
        deadline = min(deadline, STOPPING_WRITE_DEADLINE_SECONDS)
    write_terminal(client, spec.execution_request_urn, result, deadline)


def _run(ctx: RunContext) -> RunOutcome:
    spec, settings, env = ctx.spec, ctx.settings, ctx.env
    secrets = child_input.collect_secrets(spec, env)
    envelope = child_input.build_envelope(spec, secrets)
    child_env = child_input.build_child_env(
        env,
        spec,
        gms_url=settings.gms_url,
        gms_token=settings.token,
        tmp_dir=ctx.run_dir / "tmp",
        forward_task_role=settings.forward_task_role,
    )
    plan = plugins.plan_install(
        spec.source_type or source_type(parse_recipe(spec.recipe)),  # build_envelope validated the recipe
        spec.version,
        spec.extra_pip_requirements,
        bundled=plugins.bundled_version(),
        extras=plugins.datahub_extras(),
        is_available=plugins.plugin_available,
    )
    datahub = settings.datahub_argv()
    if plan.needed:
        if not settings.allow_runtime_installs:
            raise plugins.installs_disabled_error(plan)
        python = plugins.install(
            plan,
            ctx.run_dir / "venv",
            env=plugins.installer_env(child_env, env),
            relay=ctx.relay,
            stop=ctx.stop,
            index_url=settings.pip_index_url,
            extra_index_url=settings.pip_extra_index_url,
            timeout_seconds=settings.install_timeout_seconds,
            kill_grace_seconds=settings.kill_grace_seconds,
        )
        datahub = [str(python), "-m", "datahub"]
    if ctx.stop.tripped:
        return _cancelled()
    report_file = ctx.run_dir / "report.json"
    argv = child_input.build_argv(
        spec.task, datahub, report_file, debug=spec.debug_mode, override=settings.child_command
    )
    exit_ = Supervisor(
        argv,
        env=child_env,
        relay=ctx.relay,
        stop=ctx.stop,
        stdin_text=envelope,
        cwd=ctx.run_dir,
        timeout_seconds=spec.run_timeout_seconds,
        kill_grace_seconds=settings.kill_grace_seconds,
    ).run()
    outcome = interpret_exit(exit_, spec, ctx)
    if report_file.exists():
        outcome.structured_report = report_file.read_text(errors="replace")
    return outcome


def interpret_exit(exit_: ChildExit, spec: RunSpec, ctx: RunContext) -> RunOutcome:
    """The child's exit, in DataHub's vocabulary, with the sentence a user needs first."""
    if exit_.stop_reason == StopReason.CANCELLED:
        return _cancelled()
    if exit_.stop_reason == StopReason.TIMEOUT:
        headline = (
            f"The ingestion timed out after {human_duration(spec.run_timeout_seconds)} and was stopped. "
            "Set EXECUTOR_RUN_TIMEOUT_SECONDS in the ingestion source's extra env vars to allow longer runs."
        )
        return _failure(headline)
    if exit_.returncode == 0:
        outcome = RunOutcome(status=ExecutionStatus.SUCCESS)
        outcome.info("Successfully executed 'datahub ingest'")
        return outcome
    if exit_.killed_by_sigkill:
        if ctx.metadata.memory_mib:
            limit = memory_limit(ctx.metadata.memory_mib, ctx.cgroup_root)
        else:
            requested = int(spec.task_memory) if (spec.task_memory or "").isdigit() else None
            limit = memory_limit(requested, ctx.cgroup_root, source="the run's task size")
        return _failure(oom_message(limit, spec.task_cpu or ctx.metadata.cpu))
    if exit_.returncode < 0:
        return _failure(f"The ingestion process was killed by signal {-exit_.returncode}.")
    outcome = RunOutcome(status=ExecutionStatus.FAILURE)
    outcome.info(f"Failed to execute 'datahub ingest', exit code {exit_.returncode}")
    return outcome


def _failure(headline: str) -> RunOutcome:
    outcome = RunOutcome(status=ExecutionStatus.FAILURE, headline=headline)
    outcome.error(headline)
    return outcome


def _cancelled() -> RunOutcome:
    outcome = RunOutcome(status=ExecutionStatus.CANCELLED, headline=CANCELLED_HEADLINE)
    outcome.info(CANCELLED_HEADLINE)
    return outcome


def _report_unreadable_spec(
    settings: RunnerSettings, env: Mapping[str, str], client: GmsClient, exc: Exception, start_ms: int
) -> int:
    reason = exc.reason if isinstance(exc, PermanentError) else f"could not read the run spec: {type(exc).__name__}"
    logger.error("Cannot run: %s", reason)
    urn = env.get(ENV_EXECUTION_REQUEST_URN)
    if not urn:
        return EXIT_CANNOT_START
    result = ExecutionRequestResult(
        status=ExecutionStatus.FAILURE,
        report=f"The runner could not start this run: {reason}",
        startTimeMs=start_ms,
        durationMs=int(time.time() * 1000) - start_ms,
    )
    write_terminal(client, urn, result, settings.terminal_write_deadline_seconds)
    return EXIT_CODES[ExecutionStatus.FAILURE]


def _print_final(out: BinaryIO, report: str, structured: str | None) -> None:
    """The final report also goes to stdout (CloudWatch), so nothing is lost if GMS refuses it."""
    text = "[executor] ===== final report =====\n" + report
    if structured:
        text += "\n[executor] ===== structured report (JSON) =====\n" + structured + "\n"
    out.write(text.encode("utf-8", "replace"))
    out.flush()


def _upload_run_folder(
    settings: RunnerSettings, spec: RunSpec, log_path: Path, report: str, structured: str | None
) -> None:
    """Best effort: the masked full log and reports to s3://RUN_BUCKET/runs/<execution-id>/."""
    if not settings.run_bucket:
        return
    try:
        from executor_common.aws.s3 import S3Adapter, make_s3_client, run_object_key

        s3 = S3Adapter(make_s3_client())
        bucket = settings.run_bucket
        s3.put_file(bucket, run_object_key(spec.execution_id, "runner.log"), str(log_path))
        s3.put_text(bucket, run_object_key(spec.execution_id, "report.txt"), report, "text/plain")
        if structured:
            s3.put_text(bucket, run_object_key(spec.execution_id, "report.json"), structured)
    except Exception as exc:
        logger.warning("Could not write the run folder to s3://%s: %s", settings.run_bucket, type(exc).__name__)


def _gms_client(settings: RunnerSettings, *, progress: bool = False) -> GmsClient:
    """Progress: one short attempt (dropped on failure). Terminal: the session's own retries, then ours."""
    from executor_common.gms import GmsClient

    if progress:
        return GmsClient(settings.gms_url, settings.token, timeout=settings.gms_timeout_seconds, session_retries=0)
    return GmsClient(settings.gms_url, settings.token, timeout=max(settings.gms_timeout_seconds, 10.0))


def _safe(execution_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", execution_id)[:64]


def _url_passwords(*urls: str | None) -> list[str]:
    return [p for p in (urlparse(u).password for u in urls if u) if p]
