"""The bounded tail and the masking relay."""

from __future__ import annotations

import io
import os
import threading

from executor_common.masking import SecretMasker
from executor_runner.relay import MAX_PENDING_BYTES, LogRelay, pump
from executor_runner.tail import EARLIER_LOGS_NOTE, MAX_LINE_CHARS, LogTail


def test_tail_more_lines_than_capacity_keeps_last_and_marks_cut():
    tail = LogTail(max_lines=3)
    tail.extend([f"line {i}" for i in range(10)])

    assert tail.render() == f"{EARLIER_LOGS_NOTE}\nline 7\nline 8\nline 9"
    assert tail.total_lines == 10


def test_tail_render_byte_bound_keeps_whole_last_lines():
    tail = LogTail(max_lines=100)
    tail.extend(["a" * 10, "b" * 10, "c" * 10])

    assert tail.render(max_bytes=25) == f"{EARLIER_LOGS_NOTE}\n{'b' * 10}\n{'c' * 10}"


def test_tail_very_long_line_is_cut():
    tail = LogTail(max_lines=2)
    tail.extend(["x" * (MAX_LINE_CHARS * 3)])

    assert len(tail.render()) < MAX_LINE_CHARS + 100


def test_tail_version_and_silence_follow_output():
    now = [100.0]
    tail = LogTail(max_lines=5, clock=lambda: now[0])
    assert tail.seconds_since_output() is None
    tail.extend(["hello"])
    now[0] = 130.0

    assert tail.version == 1
    assert tail.seconds_since_output() == 30.0


def _relay(secret: str = "hunter2-secret") -> tuple[LogRelay, io.BytesIO, io.BytesIO, LogTail]:
    out, log = io.BytesIO(), io.BytesIO()
    tail = LogTail(max_lines=100)
    return LogRelay(SecretMasker([secret]), tail, out, log), out, log, tail


def test_relay_masks_stdout_tail_and_file():
    relay, out, log, tail = _relay()

    relay.write_lines("connecting with hunter2-secret\nok\n")

    for text in (out.getvalue().decode(), log.getvalue().decode(), tail.render()):
        assert "hunter2-secret" not in text
        assert "connecting with ********" in text


def test_relay_log_file_is_capped_but_stdout_is_not():
    out, log = io.BytesIO(), io.BytesIO()
    relay = LogRelay(SecretMasker(), LogTail(10), out, log, max_file_bytes=20)

    relay.write_lines("0123456789\n" * 5)
    relay.write_lines("more\n")

    assert out.getvalue().count(b"0123456789") == 5
    assert b"full log capped" in log.getvalue()
    assert log.getvalue().startswith(b"0123456789\n012345678[full log capped")


def test_pump_secret_split_across_pipe_writes_is_still_masked():
    # GIVEN a writer that splits a line (and the secret in it) across two writes
    relay, out, _log, _tail = _relay()
    read_fd, write_fd = os.pipe()

    def writer() -> None:
        os.write(write_fd, b"token=hunt")
        os.write(write_fd, b"er2-secret done\nlast line without newline")
        os.close(write_fd)

    thread = threading.Thread(target=writer)
    thread.start()
    with os.fdopen(read_fd, "rb", buffering=0) as stream:
        pump(stream, relay)
    thread.join()

    text = out.getvalue().decode()
    assert "hunter2-secret" not in text
    assert "token=******** done\n" in text
    assert text.endswith("last line without newline\n")


def _pump_written(data: bytes, relay: LogRelay) -> None:
    """Pump what a child wrote (`data`, then end of output) through `relay`."""
    read_fd, write_fd = os.pipe()
    os.write(write_fd, data)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb", buffering=0) as stream:
        pump(stream, relay)


def test_pump_invalid_utf8_does_not_stop_the_relay():
    relay, out, _log, _tail = _relay()
    _pump_written(b"bad \xff\xfe bytes\nnext\n", relay)

    assert out.getvalue().decode().endswith("next\n")


class _BrokenStdout(io.BytesIO):
    def write(self, data):
        raise BrokenPipeError("stdout is gone")


def test_pump_broken_stdout_keeps_draining_and_tail_still_fills():
    tail = LogTail(10)
    relay = LogRelay(SecretMasker(), tail, _BrokenStdout())
    _pump_written(b"one\ntwo\n", relay)

    assert relay.sink_failed
    assert tail.render() == "one\ntwo"


def test_pump_secret_straddling_the_block_boundary_of_a_long_line_is_masked():
    # GIVEN a line without newline longer than the relay's block, with a secret across the block boundary
    relay, out, _log, _tail = _relay()
    secret = "hunter2-secret"
    head = b"x" * (MAX_PENDING_BYTES - 6)
    data = head + b"token=" + secret.encode() + b" " + b"y" * (MAX_PENDING_BYTES * 2) + b"\nend\n"

    # WHEN a writer sends it in pieces and the relay drains it
    read_fd, write_fd = os.pipe()

    def writer() -> None:
        for start in range(0, len(data), 64 * 1024):
            os.write(write_fd, data[start : start + 64 * 1024])
        os.close(write_fd)

    thread = threading.Thread(target=writer)
    thread.start()
    with os.fdopen(read_fd, "rb", buffering=0) as stream:
        pump(stream, relay)
    thread.join()

    # THEN no part of the secret longer than a few characters reaches stdout, and the output is complete
    text = out.getvalue().decode()
    assert "token=********" in text
    assert "hunter" not in text and "r2-secret" not in text
    assert text.count("y") == MAX_PENDING_BYTES * 2 and text.endswith("end\n")
