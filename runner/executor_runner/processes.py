"""The runner's process hygiene: unreadable to its child, and no descendant outlives a run.

- Not dumpable (`PR_SET_DUMPABLE` 0): the ingestion child runs as the same user, and a dumpable
  runner's `/proc/<pid>/environ` (the GMS token, every attached secret, the task-role credentials
  URI) would be readable to it. A non-dumpable process's `/proc` files are owned by root and
  ptrace-protected, so a same-user process without CAP_SYS_PTRACE can read none of them.
- Child subreaper (`PR_SET_CHILD_SUBREAPER`): a grandchild that `setsid`s or double-forks leaves
  the child's process group, and when its parent exits it would be re-parented to PID 1 (ECS's
  init, `InitProcessEnabled`), out of our sight. As a subreaper the runner gets those orphans
  back, so `kill_descendants` can find and kill every one at the end of a run, timeout or cancel.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PROC = Path("/proc")


def harden_runner() -> None:
    """Make this process non-dumpable and a child subreaper (Linux; logged, not fatal, elsewhere)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        logger.warning("Cannot load libc: the runner stays dumpable and is not a subreaper")
        return
    for name, option, value in (("PR_SET_DUMPABLE", PR_SET_DUMPABLE, 0), ("subreaper", PR_SET_CHILD_SUBREAPER, 1)):
        if libc.prctl(option, value, 0, 0, 0) != 0:
            logger.warning("prctl(%s) failed: %s", name, os.strerror(ctypes.get_errno()))


def _parents(*, with_zombies: bool = True) -> dict[int, int]:
    """pid -> parent pid, from /proc/<pid>/stat (the fields after the command's closing parenthesis)."""
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and (with_zombies or fields[0] != "Z"):
            parents[int(entry.name)] = int(fields[1])
    return parents


def children_of(pid: int) -> set[int]:
    return {child for child, parent in _parents().items() if parent == pid}


def descendants(roots: Iterable[int]) -> list[int]:
    """Every live (not yet exited) process below `roots`, the roots included."""
    parents = _parents(with_zombies=False)
    by_parent: dict[int, list[int]] = {}
    for child, parent in parents.items():
        by_parent.setdefault(parent, []).append(child)
    found: list[int] = []
    queue = [pid for pid in roots if pid in parents]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(by_parent.get(pid, ()))
    return found


def kill_descendants(child_pid: int, existing_children: set[int], timeout: float = 5.0) -> int:
    """SIGKILL the child's remaining tree and every orphan re-parented to us since it started.

    `existing_children` are our children from before the child started (none in the runner; the
    test process has its own), which are left alone. Our direct children among the killed are
    reaped by pid, never with `waitpid(-1)`, so no other child's exit status is stolen.
    Returns how many processes were killed.
    """
    me = os.getpid()
    killed: set[int] = set()
    deadline = time.monotonic() + timeout
    while True:
        adopted = children_of(me) - existing_children
        targets = [pid for pid in descendants({child_pid, *adopted}) if pid != me]
        if not targets or time.monotonic() > deadline:
            break
        for pid in targets:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        for pid in adopted:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
        time.sleep(0.02)
    for pid in children_of(me) & killed:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
    return len(killed)
