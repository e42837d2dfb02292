"""Runs one child process in its own session and stops its whole process group when told to.

The child gets its input on stdin (written by a helper thread, so a child that never
reads cannot block us), its stdout+stderr are drained by `relay.pump` on another
thread, and the caller's thread only waits: for the exit, for a stop request (SIGTERM
to the runner) or for the deadline (run timeout). Stopping is SIGTERM to the group,
then SIGKILL after the grace period; after the leader exits, every process left below it is
killed too (its group, and grandchildren that left the group with `setsid` or a double fork
and came back to the runner as orphans: `processes.kill_descendants`), so none outlives the run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from executor_runner import processes
from executor_runner.relay import LogRelay, start_pump

POLL_SECONDS = 0.1
READER_JOIN_SECONDS = 5.0


class StopReason(StrEnum):
    CANCELLED = "CANCELLED"
    TIMEOUT = "TIMEOUT"


@dataclass(frozen=True)
class ChildExit:
    returncode: int
    stop_reason: StopReason | None

    @property
    def killed_by_sigkill(self) -> bool:
        return self.returncode == -signal.SIGKILL


class StopSwitch:
    """Set from a signal handler (or a test); every supervisor of the run watches the same switch."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: StopReason | None = None

    def trip(self, reason: StopReason) -> None:
        if self.reason is None:
            self.reason = reason
        self._event.set()

    @property
    def tripped(self) -> bool:
        return self._event.is_set()


class Supervisor:
    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        relay: LogRelay,
        stop: StopSwitch,
        stdin_text: str | None = None,
        cwd: Path | None = None,
        timeout_seconds: float | None = None,
        kill_grace_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._argv = list(argv)
        self._env = dict(env)
        self._relay = relay
        self._stop = stop
        self._stdin_text = stdin_text
        self._cwd = cwd
        self._timeout = timeout_seconds
        self._grace = kill_grace_seconds
        self._clock = clock

    def run(self) -> ChildExit:
        """Start the child and block until it has exited and its output is drained."""
        started = self._clock()
        existing_children = processes.children_of(os.getpid())
        process = subprocess.Popen(
            self._argv,
            env=self._env,
            cwd=self._cwd,
            stdin=subprocess.PIPE if self._stdin_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
        assert process.stdout is not None
        reader = start_pump(process.stdout, self._relay, name=f"relay-{process.pid}")
        if self._stdin_text is not None:
            threading.Thread(target=_feed, args=(process, self._stdin_text), daemon=True).start()

        exited = threading.Event()
        threading.Thread(target=_reap, args=(process, exited), daemon=True).start()

        stop_reason: StopReason | None = None
        term_sent_at: float | None = None
        deadline = started + self._timeout if self._timeout else None
        while not exited.wait(POLL_SECONDS):  # wakes the moment the child exits
            now = self._clock()
            if term_sent_at is None:
                if self._stop.tripped:
                    stop_reason = self._stop.reason or StopReason.CANCELLED
                elif deadline is not None and now >= deadline:
                    stop_reason = StopReason.TIMEOUT
                if stop_reason is not None:
                    self._relay.note(f"Stopping the process (SIGTERM; SIGKILL in {self._grace:.0f}s): {stop_reason}")
                    _signal_group(process.pid, signal.SIGTERM)
                    term_sent_at = now
            elif now - term_sent_at >= self._grace:
                self._relay.note("The process did not stop within the grace period: SIGKILL")
                _signal_group(process.pid, signal.SIGKILL)
                term_sent_at = float("inf")
        returncode = process.wait()
        # Grandchildren left behind would keep the pipe open and outlive the run.
        _signal_group(process.pid, signal.SIGKILL)
        processes.kill_descendants(process.pid, existing_children)
        reader.join(READER_JOIN_SECONDS)
        with contextlib.suppress(OSError):
            process.stdout.close()
        return ChildExit(returncode=returncode, stop_reason=stop_reason)


def _reap(process: subprocess.Popen[bytes], exited: threading.Event) -> None:
    process.wait()
    exited.set()


def _feed(process: subprocess.Popen[bytes], text: str) -> None:
    assert process.stdin is not None
    with contextlib.suppress(OSError):
        process.stdin.write(text.encode("utf-8"))
    with contextlib.suppress(OSError):
        process.stdin.close()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
