"""Where every output line goes: masked, to stdout (CloudWatch), the bounded tail and the full log file.

`pump()` drains one pipe on its own thread as fast as the child writes, so the child
never blocks on a full pipe, whatever GMS is doing. Chunks are masked as whole
blocks of complete lines, and a multi-line secret is masked line by line (the masker
registers each of its lines). A "line" longer than MAX_PENDING_BYTES is released in
pieces, each cut where no registered form straddles it, keeping back an overlap of the
longest registered form (`SecretMasker.safe_cut`).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from typing import IO, BinaryIO

from executor_common.masking import SecretMasker

from executor_runner.tail import LogTail

logger = logging.getLogger(__name__)

READ_CHUNK_BYTES = 256 * 1024
#: A larger pipe lets a chatty child run ahead while the relay catches up (Linux caps it at pipe-max-size).
PIPE_BYTES = 1024 * 1024
COALESCE_BELOW_BYTES = 32 * 1024
COALESCE_SECONDS = 0.005
#: A "line" longer than this without a newline is relayed in pieces.
MAX_PENDING_BYTES = 256 * 1024
LOG_FILE_CAP_NOTE = "[full log capped here: the rest is only in CloudWatch]\n"


class LogRelay:
    """Masks text once and fans it out; safe to call from several threads."""

    def __init__(
        self,
        masker: SecretMasker,
        tail: LogTail,
        out: BinaryIO,
        log_file: BinaryIO | None = None,
        max_file_bytes: int = 512 * 1024 * 1024,
    ) -> None:
        self.masker = masker
        self.tail = tail
        self._out = out
        self._log_file = log_file
        self._max_file_bytes = max_file_bytes
        self._file_bytes = 0
        self._lock = threading.Lock()
        self.sink_failed = False

    def write_lines(self, text: str) -> None:
        """`text` is one or more complete lines (a final newline is optional)."""
        if not text:
            return
        masked = self.masker.mask(text)
        if not masked.endswith("\n"):
            masked += "\n"
        self.tail.extend(masked[:-1].split("\n"))
        data = masked.encode("utf-8", "replace")
        with self._lock:
            self._write_file(data)
            self._out.write(data)
            self._out.flush()

    def note(self, message: str) -> None:
        """A line of the runner's own (install steps, stop requests) in the run's log."""
        self.write_lines(f"[executor] {message}")

    def _write_file(self, data: bytes) -> None:
        if self._log_file is None or self._file_bytes >= self._max_file_bytes:
            return
        room = self._max_file_bytes - self._file_bytes
        self._file_bytes += min(room, len(data))
        self._log_file.write(data[:room])
        if self._file_bytes >= self._max_file_bytes:
            self._log_file.write(LOG_FILE_CAP_NOTE.encode())

    def flush(self) -> None:
        with self._lock:
            if self._log_file is not None:
                self._log_file.flush()


def pump(stream: IO[bytes], relay: LogRelay) -> None:
    """Read `stream` until EOF, relaying complete lines; decoding errors never stop it."""
    fd = stream.fileno()
    with contextlib.suppress(AttributeError, OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    pending = b""
    while True:
        chunk = os.read(fd, READ_CHUNK_BYTES)
        if not chunk:
            break
        if len(chunk) < COALESCE_BELOW_BYTES:
            # Let a chatty child fill the (large) pipe a little: far fewer wake-ups and smaller CPU
            # share for the relay, at the cost of a few milliseconds of latency.
            time.sleep(COALESCE_SECONDS)
        pending += chunk
        newline = pending.rfind(b"\n")
        if newline >= 0:
            cut = newline + 1
        elif len(pending) < MAX_PENDING_BYTES:
            continue
        else:
            cut = relay.masker.safe_cut(pending)
            if cut <= 0:  # only a (huge) registered form could still start here: wait, within bounds
                if len(pending) < 4 * MAX_PENDING_BYTES:
                    continue
                cut = len(pending)
        block, pending = pending[:cut], pending[cut:]
        _relay_safely(relay, block)
    if pending:
        _relay_safely(relay, pending)


def _relay_safely(relay: LogRelay, block: bytes) -> None:
    """A failing sink (stdout gone, disk full) must never stop the draining, or the child blocks."""
    try:
        relay.write_lines(block.decode("utf-8", "replace"))
    except Exception as exc:
        if not relay.sink_failed:
            relay.sink_failed = True
            logger.error("Could not relay the child's output (%s); still draining it", type(exc).__name__)


def start_pump(stream: IO[bytes], relay: LogRelay, name: str) -> threading.Thread:
    thread = threading.Thread(target=pump, args=(stream, relay), name=name, daemon=True)
    thread.start()
    return thread
