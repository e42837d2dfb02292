"""`python -m executor_runner`: the container entry point.

In the task, ECS's init process (the task definition's `InitProcessEnabled`) is PID 1: it
forwards SIGTERM to the runner and reaps whatever is re-parented to it. The runner does not rely
on it: it makes itself a child subreaper, so grandchildren that leave the child's process group
come back to it and are killed at the end of the run, and it makes itself non-dumpable, so the
child cannot read its environment (processes.py). It handles SIGTERM itself (a cancel).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence

from executor_common.errors import summarize_validation_error
from executor_common.masking import SecretMasker
from pydantic import ValidationError

from executor_runner.processes import harden_runner
from executor_runner.run import EXIT_CANNOT_START, Run
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
    root.setLevel(logging.INFO)
    logging.getLogger("urllib3").setLevel(logging.ERROR)


def main(child_command: Sequence[str] | None = None) -> int:
    """Run once. `child_command` is for the test harness's own entry point only: nothing sets it here."""
    harden_runner()
    masker = SecretMasker()
    configure_logging(masker)
    try:
        settings = RunnerSettings()
    except ValidationError as exc:
        logger.error("The runner is misconfigured: %s", summarize_validation_error(exc))
        return EXIT_CANNOT_START
    with contextlib.suppress(ValueError):
        logging.getLogger().setLevel(settings.log_level.upper())
    stop = StopSwitch()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.trip(StopReason.CANCELLED))
    # The raw environment is read for one thing only: the values of the run's attached secrets.
    run = Run(
        settings,
        secret_env=os.environ,
        out=sys.stdout.buffer,
        stop=stop,
        masker=masker,
        child_command=child_command,
        cgroup_root=settings.cgroup_root,
    )
    return run.execute()


if __name__ == "__main__":
    sys.exit(main())
