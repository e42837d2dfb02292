"""Progress writes (throttled, only when changed, dropped on failure) and the terminal write."""

from __future__ import annotations

import threading
import time

from executor_common.errors import GmsError
from executor_common.results import ExecutionRequestResult
from executor_runner.gms_reporter import ProgressReporter

URN = "urn:li:dataHubExecutionRequest:abc"


class FakeGms:
    """Records accepted writes; answers with the scripted errors first."""

    def __init__(self, errors: list[GmsError] | None = None) -> None:
        self.accepted: list[ExecutionRequestResult] = []
        self.errors = list(errors or [])
        self.lock = threading.Lock()

    def write_result(self, urn: str, result: ExecutionRequestResult) -> None:
        with self.lock:
            if self.errors:
                raise self.errors.pop(0)
            self.accepted.append(result)


def _run_reporter(gms: FakeGms, reports: list[str], seconds: float) -> ProgressReporter:
    current = iter(reports)
    last = [reports[0]]

    def render() -> str:
        last[0] = next(current, last[0])
        return last[0]

    reporter = ProgressReporter(lambda: gms, URN, 1000, render, interval_seconds=0.02)  # type: ignore[arg-type]
    reporter.start("kickoff")
    time.sleep(seconds)
    reporter.stop()
    return reporter


def test_progress_sends_kickoff_then_only_changed_reports():
    gms = FakeGms()

    _run_reporter(gms, ["a", "a", "b", "b", "b", "c"], seconds=0.5)

    assert [r.report for r in gms.accepted] == ["kickoff", "a", "b", "c"]
    assert {r.status for r in gms.accepted} == {"RUNNING"}
    assert {r.startTimeMs for r in gms.accepted} == {1000}


def test_progress_failed_write_is_dropped_and_next_change_is_sent():
    gms = FakeGms(errors=[GmsError("down", status_code=503), GmsError("down", status_code=503)])

    reporter = _run_reporter(gms, ["a", "b"], seconds=0.3)

    assert [r.report for r in gms.accepted] == ["b"]
    assert reporter.writes == 1


def test_progress_unauthorized_is_logged_loudly_once(caplog):
    gms = FakeGms(errors=[GmsError("no", status_code=401)] * 5)

    _run_reporter(gms, ["a", "b", "c", "d", "e"], seconds=0.3)

    refusals = [r for r in caplog.records if "REFUSED" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].levelname == "ERROR"


def test_progress_no_write_after_stop():
    gms = FakeGms()
    reporter = _run_reporter(gms, ["a"], seconds=0.1)
    count = len(gms.accepted)

    reporter.write("late")  # what a write racing stop() would do

    assert len(gms.accepted) == count
