"""`python -m executor_runner`: the container entry point (PID 1 in the task; it handles SIGTERM itself).

No init process is needed: the runner reaps its only child, forwards SIGTERM to the
child's process group and kills whatever is left of that group before exiting.
"""

from __future__ import annotations

import logging
import os
import signal
import sys

from executor_common.errors import summarize_validation_error
from executor_common.masking import SecretMasker
from pydantic import ValidationError

from executor_runner.run import EXIT_CANNOT_START, execute
from executor_runner.settings import RunnerSettings
from executor_runner.supervisor import StopReason, StopSwitch

logger = logging.getLogger("executor_runner")


class MaskingFilter(logging.Filter):
    """Every runner log record goes through the run's secret masker (fail-closed)."""

    def __init__(self, masker: SecretMasker) -> None:
        super().__init__()
        self._masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._masker.mask(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self._masker.mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def configure_logging(masker: SecretMasker) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[executor] %(levelname)s %(message)s"))
    handler.addFilter(MaskingFilter(masker))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO").upper())
    logging.getLogger("urllib3").setLevel(logging.ERROR)


def main() -> int:
    masker = SecretMasker()
    configure_logging(masker)
    try:
        settings = RunnerSettings()
    except ValidationError as exc:
        logger.error("The runner is misconfigured: %s", summarize_validation_error(exc))
        return EXIT_CANNOT_START
    stop = StopSwitch()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.trip(StopReason.CANCELLED))
    return execute(settings, os.environ, sys.stdout.buffer, stop, masker)


if __name__ == "__main__":
    sys.exit(main())
