"""One run, start to finish: spec → secrets → (install) → child → report. `Run.execute` returns the exit code.

Exit codes (the container's, as ECS shows them): 0 SUCCESS, 1 FAILURE (the ingestion
failed, timed out, ran out of memory, a secret or a package was missing), 2 CANCELLED
(SIGTERM), 3 the runner could not start (bad settings, no run spec) and could not report.
They reflect the ingestion even when GMS refused the status write.

After SIGTERM the runner writes CANCELLED: it cannot tell a cancel from DataHub from a Fargate
Spot reclaim or the backstop's stop at the run timeout (ECS's task metadata carries no stop code,
see task_metadata.py). The reconciler reads the stopped task's `stopCode` / `stoppedReason` and
corrects it (Spot → ABORTED, backstop → FAILURE "timed out"). The final status is written before
the run folder is uploaded, so it lands within Fargate's stop timeout.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urlparse

from executor_common import datahub_secrets
from executor_common.contract import ExecutionTask
from executor_common.cost import CostEstimate, PriceTable, RunUsage, estimate
from executor_common.durations import human_duration
from executor_common.errors import PermanentError
from executor_common.masking import SecretMasker
from executor_common.recipe import parse_recipe, source_type
from executor_common.results import ExecutionRequestResult, StructuredExecutionReport, note_lines
from executor_common.run_event import run_state_detail
from executor_common.runspec import RunSpec
from executor_common.status import ExecutionStatus
from executor_common.test_connection import TEST_CONNECTION_REPORT_TYPE, internal_failure_report

from executor_runner import child_input, plugins
from executor_runner.gms_reporter import ProgressReporter, write_terminal
from executor_runner.oom import CGROUP_ROOT, memory_limit, oom_message
from executor_runner.relay import LogRelay
from executor_runner.report_text import RunOutcome, render_progress, render_report
from executor_runner.settings import RunnerSettings
from executor_runner.spec import S3TextReader, load_run_spec
from executor_runner.supervisor import ChildExit, StopReason, StopSwitch, Supervisor
from executor_runner.tail import LogTail
from executor_runner.task_metadata import TaskMetadata, fetch_task_metadata
from executor_runner.usage import Usage, UsageSampler, cpu_fact, memory_advice

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


class Run:
    """One run of one execution request; `child_command` replaces `datahub ingest` (test harness only)."""

    def __init__(
        self,
        settings: RunnerSettings,
        *,
        secret_env: Mapping[str, str],
        out: BinaryIO,
        stop: StopSwitch,
        masker: SecretMasker,
        child_command: Sequence[str] | None = None,
        read_s3_text: S3TextReader | None = None,
        cgroup_root: Path = CGROUP_ROOT,
    ) -> None:
        self.settings = settings
        self._secret_env = secret_env
        self._out = out
        self._stop = stop
        self._masker = masker
        self._child_command = list(child_command) if child_command else None
        self._read_s3_text = read_s3_text
        self._cgroup_root = cgroup_root
        self._tail = LogTail(settings.tail_max_lines)
        self._metadata = TaskMetadata()
        self._run_dir = Path()
        self._relay: LogRelay | None = None
        self._usage = Usage(peak_bytes=None, cpu_seconds=None)
        self.cost: CostEstimate | None = None

    # -- the steps ------------------------------------------------------------------------
    def execute(self) -> int:
        started_ms = int(time.time() * 1000)
        settings = self.settings
        auth = settings.container_authorization_token
        self._masker.add(
            settings.token,
            auth.get_secret_value() if auth else None,
            *_url_passwords(settings.pip_index_url, settings.pip_extra_index_url),
        )
        try:
            self.spec = load_run_spec(settings.run_spec, settings.run_spec_uri, self._read_s3_text)
        except Exception as exc:
            return self._report_unreadable_spec(exc, started_ms)
        # The launch time, from the dispatcher's first RUNNING to our last write: the UI's duration.
        self.start_ms = self.spec.launched_at_ms or started_ms
        # Every attached secret is maskable before anything can print it, even if the run fails early.
        self._masker.add(*(self._secret_env.get(name) for name in self.spec.secret_names))

        settings.work_dir.mkdir(parents=True, exist_ok=True)
        prefix = f"run-{_safe(self.spec.execution_id)}-"
        self._run_dir = Path(tempfile.mkdtemp(prefix=prefix, dir=settings.work_dir))
        (self._run_dir / "tmp").mkdir()
        log_path = self._run_dir / "full.log"
        self._metadata = fetch_task_metadata(settings.metadata_uri)
        progress = ProgressReporter(
            lambda: self._gms_client(progress=True),
            self.spec.execution_request_urn,
            self.start_ms,
            self._progress_text,
            settings.progress_interval_seconds,
        )
        # The full log is only kept for the run folder: without a run bucket, stdout (CloudWatch) is the full log.
        with log_path.open("wb") if settings.run_bucket else contextlib.nullcontext() as log_file:
            self._relay = LogRelay(self._masker, self._tail, self._out, log_file, settings.max_log_file_bytes)
            progress.start(self._kickoff_text())
            sampler = UsageSampler(self._cgroup_root, settings.usage_sample_seconds).start()
            outcome = self._outcome()
            self._usage = sampler.stop()
            self._relay.flush()
        progress.stop()
        try:
            self._finish(outcome, log_path)
        finally:
            shutil.rmtree(self._run_dir, ignore_errors=True)
        return EXIT_CODES.get(outcome.status, 1)

    def _outcome(self) -> RunOutcome:
        """The run's outcome; a refusal (PermanentError) or a runner bug never escapes."""
        assert self._relay is not None
        try:
            outcome = self._run()
        except PermanentError as exc:
            outcome = RunOutcome(status=ExecutionStatus.FAILURE, headline=exc.reason, refusal=exc.reason)
            outcome.error(exc.reason)
            self._relay.note(exc.reason)
        except Exception as exc:  # a runner bug still ends as a FAILURE in DataHub
            logger.exception("The runner failed")
            outcome = RunOutcome(status=ExecutionStatus.FAILURE, headline=f"The runner failed: {type(exc).__name__}")
            outcome.error(self._masker.mask(f"The runner failed: {exc!r}"))
        if (
            self._stop.tripped
            and outcome.status == ExecutionStatus.FAILURE
            and self._stop.reason == StopReason.CANCELLED
        ):
            outcome = _cancelled()
        return outcome

    def _run(self) -> RunOutcome:
        spec, settings = self.spec, self.settings
        assert self._relay is not None
        envelope = child_input.build_envelope(
            spec, self._secrets_for_child(), gms_url=settings.gms_url, gms_token=settings.token
        )
        child_env = child_input.build_child_env(spec, settings, tmp_dir=self._run_dir / "tmp")
        dropped = child_input.dropped_env_names(spec)
        if dropped:
            self._relay.note("Extra env vars not given to the ingestion (reserved names): " + ", ".join(dropped))
        plan = plugins.plan_install(
            spec.source_type or source_type(parse_recipe(spec.recipe)),  # build_envelope validated the recipe
            spec.version,
            spec.extra_pip_requirements,
            bundled=plugins.bundled_version(),
            extras=plugins.datahub_extras(),
            is_available=plugins.plugin_available,
            extra_plugins=spec.extra_pip_plugins,
        )
        datahub = settings.datahub_argv()
        if plan.needed:
            if not settings.allow_runtime_installs:
                raise plugins.installs_disabled_error(plan)
            datahub = [str(self._install(plan)), "-m", "datahub"]
        if self._stop.tripped:
            return _cancelled()
        report_file = self._run_dir / "report.json"
        if self._child_command:
            argv = [part.replace("{report_file}", str(report_file)) for part in self._child_command]
        else:
            argv = child_input.build_argv(spec.task, datahub, report_file, debug=spec.debug_mode)
        exit_ = Supervisor(
            argv,
            env=child_env,
            relay=self._relay,
            stop=self._stop,
            stdin_text=envelope,
            cwd=self._run_dir,
            timeout_seconds=spec.run_timeout_seconds,
            kill_grace_seconds=settings.kill_grace_seconds,
        ).run()
        outcome = interpret_exit(exit_, spec, self._metadata, self._cgroup_root)
        if report_file.exists():
            outcome.structured_report = report_file.read_text(errors="replace")
        return outcome

    def _secrets_for_child(self) -> dict[str, str]:
        """The attached secrets (injected by ECS), then the rest read from DataHub's secret store.

        Values from DataHub are masked before anything can print them and go to the child's stdin
        envelope only. A name in neither store fails the run naming both (datahub_secrets.py).
        """
        spec = self.spec
        values = {name: self._secret_env[name] for name in spec.secret_names if self._secret_env.get(name)}
        wanted = [name for name in spec.datahub_secret_names if name not in values]
        if not wanted:
            return values
        if not self.settings.datahub_secret_store_enabled:
            raise PermanentError(
                "DataHub's secret store is turned off for this executor (DataHubSecretStore), and the recipe's "
                + ", ".join(f"${{{name}}}" for name in wanted)
                + " are not in Secrets Manager: create them there and run again."
            )
        found = datahub_secrets.fetch_secret_values(self._gms_client(), wanted)
        self._masker.add(*found.values())
        missing = [name for name in wanted if name not in found]
        if missing:
            raise datahub_secrets.neither_store_error(missing, spec.secret_name_prefix)
        assert self._relay is not None
        self._relay.note(f"Read {len(found)} secret(s) from DataHub's secret store: " + ", ".join(sorted(found)))
        return {**values, **found}

    def _install(self, plan: plugins.InstallPlan) -> Path:
        """Create the run's venv and install the plan into it; returns its python. InstallError on failure."""
        assert self._relay is not None
        settings = self.settings
        env = plugins.installer_env(settings, self._run_dir / "tmp")
        venv_dir = self._run_dir / "venv"
        commands = plugins.install_commands(
            plan,
            venv_dir,
            uv=shutil.which("uv", path=settings.path),
            index_url=settings.pip_index_url,
            extra_index_url=settings.pip_extra_index_url,
        )
        packages = ", ".join(plan.requirements)
        self._relay.note("Installing at run time (" + "; ".join(plan.reasons) + "): " + packages)
        for step, argv in commands:
            exit_ = Supervisor(
                argv,
                env=env,
                relay=self._relay,
                stop=self._stop,
                timeout_seconds=settings.install_timeout_seconds,
                kill_grace_seconds=settings.kill_grace_seconds,
            ).run()
            if exit_.stop_reason is not None and self._stop.tripped:
                raise plugins.InstallError(f"Stopped while {step}")
            if exit_.returncode != 0:
                why = "timed out" if exit_.stop_reason else f"failed with exit code {exit_.returncode}"
                raise plugins.install_failed_error(step, why, plan)
        python = venv_dir / "bin" / "python"
        plugins.see_image_packages(python)
        self._relay.note(f"Installed {packages}")
        return python

    def _finish(self, outcome: RunOutcome, log_path: Path) -> None:
        """Render, print, deliver the terminal result, then keep the run folder (after: it can take long)."""
        spec, settings = self.spec, self.settings
        structured = self._masker.mask(outcome.structured_report) if outcome.structured_report else None
        report_type: str = spec.task
        if spec.task == ExecutionTask.TEST_CONNECTION and outcome.refusal and not self._stop.tripped:
            # What DataHub's own executor writes, so the UI's modal shows the reason (test_connection.py).
            outcome.status = ExecutionStatus.SUCCESS
            structured = self._masker.mask(internal_failure_report(outcome.refusal))
            report_type = TEST_CONNECTION_REPORT_TYPE
        report = self._masker.mask(
            render_report(
                spec.task,
                spec.execution_id,
                outcome,
                self._tail.render(None, settings.tail_max_bytes),
                links=self._full_log_links(),
                notes=note_lines(self.spec.notes).splitlines() + self._resource_notes(),
            )
        )
        result = ExecutionRequestResult(
            status=outcome.status,
            report=report,
            structuredReport=StructuredExecutionReport(type=report_type, serializedValue=structured)
            if structured
            else None,
            startTimeMs=self.start_ms,
            durationMs=max(0, int(time.time() * 1000) - self.start_ms),
        )
        _print_final(self._out, report, structured)
        deadline = settings.terminal_write_deadline_seconds
        if self._stop.tripped:  # ECS SIGKILLs the task stopTimeout after SIGTERM: retry only while we still can
            deadline = min(deadline, STOPPING_WRITE_DEADLINE_SECONDS)
        write_terminal(self._gms_client(), spec.execution_request_urn, result, deadline)
        self._publish_run_state(result, outcome)
        self._upload_run_folder(log_path, report, structured)

    # -- helpers --------------------------------------------------------------------------
    def _resource_notes(self) -> list[str]:
        """What the run cost and used, and whether its size fits (issue 15); lines left out when unknown."""
        spec, metadata = self.spec, self._metadata
        seconds = max(0.0, time.time() - self.start_ms / 1000)
        cpu_units = int(metadata.cpu * 1024) if metadata.cpu else _digits(spec.task_cpu)
        memory_mib = metadata.memory_mib or _digits(spec.task_memory)
        notes: list[str] = []
        if cpu_units and memory_mib:
            spot = (spec.capacity_provider or self.settings.capacity_provider) == "FARGATE_SPOT"
            storage_gib = round(metadata.ephemeral_reserved_mib / 1024) if metadata.ephemeral_reserved_mib else 20
            prices = PriceTable.parse(self.settings.fargate_prices, self.settings.spot_price_factor)
            usage = RunUsage(
                cpu_units=cpu_units, memory_mib=memory_mib, seconds=seconds, ephemeral_gib=storage_gib, spot=spot
            )
            self.cost = estimate(usage, prices)
            notes.append(self.cost.sentence())
        limit = memory_limit(memory_mib, self._cgroup_root)
        advice = memory_advice(self._usage.peak_bytes, limit.mib if limit else None, cpu_units)
        cpu = cpu_fact(self._usage.cpu_seconds, seconds, cpu_units / 1024 if cpu_units else None)
        return notes + [line for line in (advice, cpu) if line]

    def _kickoff_text(self) -> str:
        text = f"Run started by executor '{self.spec.executor_id}'"
        if self._metadata.task_arn:
            text += f" in ECS task {self._metadata.task_arn}"
        links = self._full_log_links()
        return "\n".join([text, *links, *note_lines(self.spec.notes).splitlines()])

    def _progress_text(self) -> str:
        settings = self.settings
        silent = self._tail.seconds_since_output()
        stale = silent is not None and silent >= settings.stale_log_seconds
        return self._masker.mask(
            note_lines(self.spec.notes)
            + render_progress(
                self._tail.render(settings.progress_tail_lines, settings.progress_tail_bytes),
                self._tail.last_output_wall if stale else None,
                settings.stale_log_seconds,
            )
        )

    def _full_log_links(self) -> list[str]:
        links = []
        console = self._metadata.log_console_url()
        if console:
            links.append(f"Full log (CloudWatch): {console}")
        if self.settings.run_bucket:
            from executor_common.aws.s3 import run_object_key

            key = run_object_key(self.spec.execution_id, "runner.log")
            links.append(f"Full log (S3): s3://{self.settings.run_bucket}/{key}")
        return links

    def _report_unreadable_spec(self, exc: Exception, start_ms: int) -> int:
        reason = exc.reason if isinstance(exc, PermanentError) else f"could not read the run spec: {type(exc).__name__}"
        logger.error("Cannot run: %s", reason)
        urn = self.settings.execution_request_urn
        if not urn:
            return EXIT_CANNOT_START
        result = ExecutionRequestResult(
            status=ExecutionStatus.FAILURE,
            report=f"The runner could not start this run: {reason}",
            startTimeMs=start_ms,
            durationMs=int(time.time() * 1000) - start_ms,
        )
        write_terminal(self._gms_client(), urn, result, self.settings.terminal_write_deadline_seconds)
        return EXIT_CODES[ExecutionStatus.FAILURE]

    def _publish_run_state(self, result: ExecutionRequestResult, outcome: RunOutcome) -> None:
        """Best effort: the "Ingestion Run State Change" event (run_event.py) for users' rules and alerts."""
        bus = self.settings.event_bus_name
        if not bus:
            return
        spec = self.spec
        detail = run_state_detail(
            urn=spec.execution_request_urn,
            status=str(result.status),
            executor_id=spec.executor_id,
            source_urn=spec.ingestion_source_urn,
            duration_ms=result.durationMs,
            cost_usd=self.cost.usd if self.cost else None,
            diagnosis=self._masker.mask(outcome.headline) if outcome.headline else None,
            task_arn=self._metadata.task_arn,
            reported_by="runner",
        )
        try:
            from executor_common.aws.events import EventsAdapter, make_events_client

            EventsAdapter(make_events_client()).put_run_state(bus, detail)
        except Exception as exc:
            logger.warning("Could not publish the run-state event to %s: %s", bus, type(exc).__name__)

    def _upload_run_folder(self, log_path: Path, report: str, structured: str | None) -> None:
        """Best effort: the masked full log and reports to s3://RUN_BUCKET/runs/<execution-id>/."""
        bucket = self.settings.run_bucket
        if not bucket:
            return
        execution_id = self.spec.execution_id
        try:
            from executor_common.aws.s3 import S3Adapter, make_s3_client, run_object_key

            s3 = S3Adapter(make_s3_client())
            s3.put_file(bucket, run_object_key(execution_id, "runner.log"), str(log_path))
            s3.put_text(bucket, run_object_key(execution_id, "report.txt"), report, "text/plain")
            if structured:
                s3.put_text(bucket, run_object_key(execution_id, "report.json"), structured)
        except Exception as exc:
            logger.warning("Could not write the run folder to s3://%s: %s", bucket, type(exc).__name__)

    def _gms_client(self, *, progress: bool = False) -> GmsClient:
        """Progress: one short attempt (dropped on failure). Terminal: the session's own retries, then ours."""
        from executor_common.gms import GmsClient

        settings = self.settings
        if progress:
            return GmsClient(settings.gms_url, settings.token, timeout=settings.gms_timeout_seconds, session_retries=0)
        return GmsClient(settings.gms_url, settings.token, timeout=max(settings.gms_timeout_seconds, 10.0))


def interpret_exit(exit_: ChildExit, spec: RunSpec, metadata: TaskMetadata, cgroup_root: Path) -> RunOutcome:
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
        if metadata.memory_mib:
            limit = memory_limit(metadata.memory_mib, cgroup_root)
        else:
            requested = int(spec.task_memory) if spec.task_memory and spec.task_memory.isdigit() else None
            limit = memory_limit(requested, cgroup_root, source="the run's task size")
        return _failure(oom_message(limit, spec.task_cpu or metadata.cpu))
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


def _print_final(out: BinaryIO, report: str, structured: str | None) -> None:
    """The final report also goes to stdout (CloudWatch), so nothing is lost if GMS refuses it."""
    text = "[executor] ===== final report =====\n" + report
    if structured:
        text += "\n[executor] ===== structured report (JSON) =====\n" + structured + "\n"
    out.write(text.encode("utf-8", "replace"))
    out.flush()


def _digits(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _safe(execution_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", execution_id)[:64]


def _url_passwords(*urls: str | None) -> list[str]:
    return [p for p in (urlparse(u).password for u in urls if u) if p]
