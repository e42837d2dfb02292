"""The bounded in-memory tail of a run's log: what DataHub's UI shows while and after it runs.

Bounded by lines (a deque with maxlen) and by characters per line, so its memory stays
flat however much the child prints; the byte bound is applied when it is rendered.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

#: Longer lines are cut in the tail (stdout and the full log keep them whole).
MAX_LINE_CHARS = 4096
TRUNCATED_MARK = " [...line truncated]"
EARLIER_LOGS_NOTE = "[earlier logs truncated...]"


class LogTail:
    """Thread-safe: the relay thread appends, the progress thread and the final report read."""

    def __init__(self, max_lines: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._lines: deque[str] = deque(maxlen=max_lines)
        self._lock = threading.Lock()
        self._clock = clock
        self.version = 0
        self.total_lines = 0
        self.last_output_at: float | None = None
        self.last_output_wall: float | None = None

    def extend(self, lines: list[str]) -> None:
        if not lines:
            return
        kept = lines[-self._lines.maxlen :] if self._lines.maxlen else lines  # only these can stay
        cut = [line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + TRUNCATED_MARK for line in kept]
        with self._lock:
            self._lines.extend(cut)
            self.total_lines += len(lines)
            self.version += 1
            self.last_output_at = self._clock()
            self.last_output_wall = time.time()

    def render(self, max_lines: int | None = None, max_bytes: int | None = None) -> str:
        """The last lines (at most `max_lines`, at most `max_bytes` of UTF-8), marking a cut."""
        with self._lock:
            count = len(self._lines) if max_lines is None else min(max_lines, len(self._lines))
            picked = [self._lines[i] for i in range(len(self._lines) - count, len(self._lines))]
            total = self.total_lines
        if max_bytes is not None:
            budget = max_bytes
            kept: list[str] = []
            for line in reversed(picked):
                size = len(line.encode("utf-8", "replace")) + 1
                if size > budget:
                    break
                budget -= size
                kept.append(line)
            picked = kept[::-1]
        text = "\n".join(picked)
        if len(picked) < total:
            text = f"{EARLIER_LOGS_NOTE}\n{text}"
        return text

    def seconds_since_output(self) -> float | None:
        with self._lock:
            return None if self.last_output_at is None else self._clock() - self.last_output_at
