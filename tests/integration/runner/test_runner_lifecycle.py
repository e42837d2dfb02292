"""How a run ends: exit codes, out of memory, timeout, SIGTERM (cancel) with no orphans, a 1 M-line flood."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from executor_common.results import MAX_REPORT_CHARS
from runner_harness import child, make_spec

from tests.support.waiting import wait_until


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose (its parent, not the runner, reaps it).
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[1][0] != "Z"


class _RssSampler:
    """Peak resident memory of one process, sampled from /proc every 20 ms."""

    def __init__(self, pid: int) -> None:
        self.max_kib = 0
        self._pid = pid
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._done.wait(0.02):
            try:
                status = Path(f"/proc/{self._pid}/status").read_text()
            except OSError:
                return
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    self.max_kib = max(self.max_kib, int(line.split()[1]))

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def test_runner_child_exit_nonzero_reports_failure_with_exit_code(runner, gms_standin):
    spec = make_spec("exit-3")

    result = runner.run(spec, child=child("exit_code.py", "3"))

    assert result.returncode == 1
    final = gms_standin.result(spec.execution_request_urn)
    assert final["status"] == "FAILURE"
    assert "Execution finished with errors." in final["report"]
    assert "exit code 3" in final["report"]
    assert "Pipeline finished with at least 1 failure" in final["report"]


def test_runner_child_sigkilled_reports_out_of_memory_first(runner, gms_standin):
    # GIVEN a child that is SIGKILLed (what the OOM killer does) in a task with 1024 CPU
    spec = make_spec("oom-1", task_cpu="1024")

    result = runner.run(spec, child=child("oom.py"))

    # THEN FAILURE whose first line says it ran out of memory and how to raise the limit
    assert result.returncode == 1
    final = gms_standin.result(spec.execution_request_urn)
    assert final["status"] == "FAILURE"
    first_line = final["report"].splitlines()[0]
    assert first_line.startswith("The ingestion ran out of memory")
    assert "EXECUTOR_TASK_MEMORY" in first_line
    assert "2048 to 8192 MiB" in first_line
    assert "loading a very large table" in final["report"]


def test_runner_run_timeout_stops_child_and_reports_failure_with_duration(runner, gms_standin):
    # GIVEN a child that hangs and ignores SIGTERM, a 2 s run timeout and a 1 s stale threshold
    spec = make_spec("timeout-1", run_timeout_seconds=2)
    extra = {
        "RUNNER_KILL_GRACE_SECONDS": "1",
        "RUNNER_STALE_LOG_SECONDS": "1",
        "RUNNER_PROGRESS_INTERVAL_SECONDS": "0.2",
    }

    started = time.monotonic()
    result = runner.run(spec, extra, child=child("hang.py", "--ignore-term"))
    elapsed = time.monotonic() - started

    # THEN it is stopped (SIGTERM, then SIGKILL after the grace) and reported as timed out
    assert result.returncode == 1
    assert elapsed < 15
    final = gms_standin.result(spec.execution_request_urn)
    assert final["status"] == "FAILURE"
    assert final["report"].splitlines()[0].startswith("The ingestion timed out after 2s")
    assert "SIGKILL" in final["report"]
    # AND while it hung, a progress report said the logs looked stale
    progress = [h["report"] for h in gms_standin.history(spec.execution_request_urn) if h["status"] == "RUNNING"]
    assert any("These logs appear to be stale" in (r or "") for r in progress)


def test_runner_sigterm_cancels_and_leaves_no_orphans(runner, gms_standin, tmp_path):
    # GIVEN a child with two grandchildren, all in the child's process group, some ignoring SIGTERM
    pid_file = tmp_path / "pids"
    spec = make_spec("cancel-1")
    process = runner.start(spec, {"RUNNER_KILL_GRACE_SECONDS": "1"}, child=child("family.py", str(pid_file)))
    wait_until(lambda: pid_file.exists() and len(pid_file.read_text().split()) == 3, 15, "the family's three pids")
    pids = [int(p) for p in pid_file.read_text().split()]
    wait_until(lambda: gms_standin.result(spec.execution_request_urn), 15, "the kickoff in DataHub")

    # WHEN ECS stops the task (SIGTERM to the runner)
    process.send_signal(signal.SIGTERM)
    _stdout, stderr = process.communicate(timeout=30)

    # THEN the run is CANCELLED, the runner exits 2, and no process of the family survives
    assert process.returncode == 2, stderr
    final = gms_standin.result(spec.execution_request_urn)
    assert final["status"] == "CANCELLED"
    assert "cancelled" in final["report"].splitlines()[0].lower()
    wait_until(lambda: not any(_alive(pid) for pid in pids), 5, "every process of the family to exit")


@pytest.mark.timeout(120)
def test_runner_flood_of_a_million_lines_completes_with_bounded_memory(runner, gms_standin):
    spec = make_spec("flood-1")

    process = runner.start(spec, child=child("flood.py", "1000000"))
    peak = _RssSampler(process.pid)
    stdout, stderr = process.communicate(timeout=110)
    peak.stop()

    assert process.returncode == 0, stderr[-2000:]
    assert stdout.count("emitted workunit") >= 1_000_000
    # The runner's memory stays flat however much the child prints (the tail is bounded).
    assert 0 < peak.max_kib < 150 * 1024, peak.max_kib
    final = gms_standin.result(spec.execution_request_urn)
    assert final["status"] == "SUCCESS"
    assert "flood done" in final["report"]
    assert 60_000 < len(final["report"]) <= MAX_REPORT_CHARS  # far more of the log than the old 60,000 cap
    assert "[earlier logs truncated...]" in final["report"]


def test_runner_missing_secret_fails_naming_it_without_running(runner, gms_standin):
    recipe = {"source": {"type": "file", "config": {"path": "${SHOP_DB_PASSWORD}", "x": "${PRESENT}"}}}
    spec = make_spec("missing-secret-1", recipe, secret_names=["SHOP_DB_PASSWORD", "PRESENT"])

    result = runner.run(
        spec,
        {
            "PRESENT": "here-it-is",
            "SHOP_DB_PASSWORD": "",
        },
        child=child("leaky.py", "{report_file}"),
    )

    assert result.returncode == 1
    final = gms_standin.result(spec.execution_request_urn)
    assert final["status"] == "FAILURE"
    assert "${SHOP_DB_PASSWORD}" in final["report"].splitlines()[0]
    assert "${PRESENT}" not in final["report"].splitlines()[0]
    assert "password for" not in result.stdout  # the child never ran


def test_runner_misconfigured_exits_3_without_echoing_values(runner, gms_standin):
    spec = make_spec("misconfigured-1")

    result = runner.run(spec, {"DATAHUB_GMS_URL": "", "RUNNER_KILL_GRACE_SECONDS": "500"})

    assert result.returncode == 3
    assert "misconfigured" in result.stderr
    assert "RUNNER_KILL_GRACE_SECONDS" in result.stderr and "stopTimeout" in result.stderr
    assert gms_standin.result(spec.execution_request_urn) is None


def test_runner_repeats_the_dispatchers_notes_in_every_report(runner, gms_standin):
    # GIVEN the on-demand re-run of an interrupted Spot run: the dispatcher noted why in the run spec
    note = "re-run on on-demand Fargate: the Fargate Spot task arn:aws:ecs:t/1 of this run was interrupted"
    spec = make_spec("notes-1", notes=[note])

    # WHEN it runs long enough for progress reports, and succeeds
    result = runner.run(spec, {"RUNNER_PROGRESS_INTERVAL_SECONDS": "0.2"}, child=child("chatty.py", "1.5", "50"))

    # THEN each report DataHub shows (kickoff, progress, final) still says it is a re-run and why,
    # since every write replaces the report before it
    assert result.returncode == 0, result.stderr
    history = gms_standin.history(spec.execution_request_urn)
    assert [entry["status"] for entry in history][-1] == "SUCCESS"
    assert sum(entry["status"] == "RUNNING" for entry in history) >= 2
    assert all(f"Note: {note}" in entry["report"] for entry in history)
