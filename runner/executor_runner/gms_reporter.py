"""Status writes to GMS: the kickoff, throttled progress, and the retried terminal result.

Progress runs on its own thread with short timeouts and no retries, so a slow or
failing GMS never delays the child or the relay; a failed progress write is simply
dropped (the next one carries the newer tail). Errors no retry can fix (401/403/404/422)
are logged loudly once. `stop()` is always called before the terminal write, so a late
progress RUNNING can never overwrite the final status. The client is built on the progress
thread (a factory is passed in): importing the HTTP stack then overlaps with the child's start.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from executor_common.errors import GmsError
from executor_common.results import ExecutionRequestResult
from executor_common.status import ExecutionStatus

if TYPE_CHECKING:
    from executor_common.gms import GmsClient

logger = logging.getLogger(__name__)


class ProgressReporter:
    def __init__(
        self,
        client_factory: Callable[[], GmsClient],
        urn: str,
        start_time_ms: int,
        render: Callable[[], str],
        interval_seconds: float,
    ) -> None:
        self._client_factory = client_factory
        self._client: GmsClient | None = None
        self._urn = urn
        self._start_time_ms = start_time_ms
        self._render = render
        self._interval = interval_seconds
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last_sent: str | None = None
        self._complained: set[int | None] = set()
        self._closed = False
        self.writes = 0

    def start(self, kickoff_report: str) -> None:
        """Write the kickoff RUNNING, then a progress write per interval when the report changed."""
        self._thread = threading.Thread(target=self._loop, args=(kickoff_report,), name="progress", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout)
        # Waits for a write still in flight; none can start after this returns.
        with self._lock:
            self._closed = True

    def _loop(self, kickoff_report: str) -> None:
        try:
            self._client = self._client_factory()
            self.write(kickoff_report)
            while not self._stopped.wait(self._interval):
                report = self._render()
                if report != self._last_sent:
                    self.write(report)
        except Exception:  # progress is best effort; logged through the masking filter, never raised
            logger.exception("Progress reporting stopped")

    def write(self, report: str) -> None:
        """One RUNNING write now; a no-op once `stop()` returned, so nothing lands after the terminal status."""
        with self._lock:
            if self._closed or self._client is None:
                return
            result = ExecutionRequestResult(
                status=ExecutionStatus.RUNNING, report=report, startTimeMs=self._start_time_ms
            )
            try:
                self._client.write_result(self._urn, result)
            except GmsError as exc:
                self._on_error(exc)
                return
            self.writes += 1
            self._last_sent = report

    def _on_error(self, exc: GmsError) -> None:
        if exc.setup_refused or not exc.retryable:
            if exc.status_code not in self._complained:
                self._complained.add(exc.status_code)
                logger.error(
                    "GMS REFUSED the progress update for %s (HTTP %s): check DATAHUB_GMS_URL and the token. %s",
                    self._urn,
                    exc.status_code,
                    exc,
                )
        else:
            logger.debug("Progress update dropped: %s", exc)


def write_terminal(client: GmsClient, urn: str, result: ExecutionRequestResult, deadline_seconds: float) -> bool:
    """The final status: retried with backoff until the deadline (GmsClient.write_result_with_retry)."""
    delivered = client.write_result_with_retry(urn, result, deadline_seconds=deadline_seconds)
    if delivered:
        logger.info("Reported %s to DataHub for %s", result.status, urn)
    else:
        logger.error(
            "COULD NOT REPORT %s to DataHub for %s: the reconciler will write a status when this task stops; "
            "the full log and report are above and in the run folder",
            result.status,
            urn,
        )
    return delivered
