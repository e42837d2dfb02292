"""A task's cgroup files, kept up to date from its process tree, so a local runner measures what it used.

On Fargate each container has a cgroup of its own (`memory.max`, `memory.current`, `memory.peak`,
`cpu.stat`) that executor_runner.usage reads. A local runner is a process on this machine; this
writes the same files for it, from the resident memory and CPU time of the runner and its children
(psutil), so the report's usage lines and right-size hint appear in the local stack too.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import psutil

MIB = 1024 * 1024


class TaskCgroup:
    def __init__(self, path: Path, memory_mib: int | None, interval_seconds: float = 0.2) -> None:
        self.path = path
        self._interval = interval_seconds
        self._done = threading.Event()
        self._peak = 0
        self._cpu: dict[int, float] = {}
        path.mkdir(parents=True, exist_ok=True)
        (path / "memory.max").write_text(f"{memory_mib * MIB}\n" if memory_mib else "max\n")
        self._write(0, 0.0)

    def follow(self, pid: int) -> TaskCgroup:
        threading.Thread(target=self._loop, args=(pid,), name=f"cgroup-{pid}", daemon=True).start()
        return self

    def stop(self) -> None:
        self._done.set()

    def _loop(self, pid: int) -> None:
        while not self._done.is_set():
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(pid)
                rss = 0
                for process in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        rss += process.memory_info().rss
                        times = process.cpu_times()
                        self._cpu[process.pid] = times.user + times.system
                self._write(rss, sum(self._cpu.values()))
            self._done.wait(self._interval)

    def _write(self, rss: int, cpu_seconds: float) -> None:
        self._peak = max(self._peak, rss)
        (self.path / "memory.current").write_text(f"{rss}\n")
        (self.path / "memory.peak").write_text(f"{self._peak}\n")
        (self.path / "cpu.stat").write_text(f"usage_usec {int(cpu_seconds * 1e6)}\n")
