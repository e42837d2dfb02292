"""The supervisor with real processes: stdin never blocks, stop requests, leftover grandchildren."""

from __future__ import annotations

import io
import os
import sys
import threading
import time

from executor_common.masking import SecretMasker
from executor_runner.relay import LogRelay
from executor_runner.supervisor import StopReason, StopSwitch, Supervisor
from executor_runner.tail import LogTail


def _supervisor(code: str, stop: StopSwitch | None = None, **kwargs) -> tuple[Supervisor, io.BytesIO]:
    out = io.BytesIO()
    relay = LogRelay(SecretMasker(), LogTail(100), out)
    sup = Supervisor(
        [sys.executable, "-c", code], env=dict(os.environ), relay=relay, stop=stop or StopSwitch(), **kwargs
    )
    return sup, out


def test_supervisor_child_ignoring_large_stdin_does_not_block():
    sup, out = _supervisor("print('done')", stdin_text="x" * 5_000_000)

    exit_ = sup.run()

    assert exit_.returncode == 0 and out.getvalue() == b"done\n"


def test_supervisor_stop_switch_terminates_and_reports_cancel():
    stop = StopSwitch()
    sup, _out = _supervisor("import time; print('up', flush=True); time.sleep(60)", stop, kill_grace_seconds=2)
    threading.Timer(0.5, stop.trip, args=(StopReason.CANCELLED,)).start()

    started = time.monotonic()
    exit_ = sup.run()

    assert exit_.stop_reason == StopReason.CANCELLED
    assert exit_.returncode < 0
    assert time.monotonic() - started < 5


def test_supervisor_grandchild_holding_the_pipe_is_killed_after_leader_exits():
    # The leader exits at once, leaving a grandchild that keeps stdout open for a minute.
    code = (
        "import subprocess, sys; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); print('bye')"
    )
    sup, out = _supervisor(code)

    started = time.monotonic()
    exit_ = sup.run()

    assert exit_.returncode == 0 and b"bye" in out.getvalue()
    assert time.monotonic() - started < 5


def test_supervisor_end_of_run_sweep_spares_children_the_caller_had_before():
    # GIVEN the calling process already has a child of its own (the test process, not the runner)
    import subprocess

    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        sup, _out = _supervisor("print('done')")

        # WHEN a supervised run ends and the runner sweeps what the child left behind
        exit_ = sup.run()

        # THEN the bystander is untouched and its exit status is still ours to collect
        assert exit_.returncode == 0
        assert bystander.poll() is None
    finally:
        bystander.kill()
    assert bystander.wait(10) == -9
