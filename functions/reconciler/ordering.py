"""At-least-once, out-of-order ECS events without any state of our own.

Why no table or cache is needed:
- Only STOPPED events are acted on; an older RUNNING/PENDING event arriving late is ignored
  by its `lastStatus`, so it can never undo anything.
- A terminal status in DataHub is never overwritten by anything but a newer diagnosis of our
  own, so a duplicate delivery finds the status it (or the runner) wrote and does nothing.
  One exception: a CANCELLED without our marker, when ECS says the stop was not a cancel. The runner
  writes CANCELLED on any SIGTERM and cannot tell a DataHub cancel from a Spot reclaim or the
  backstop's timeout stop; ECS can (`stopCode`, the StopTask reason), so its word is final there.
  Once replaced, the status carries our marker, so duplicates and older versions change nothing.
- Two STOPPED events of one task (ECS can send version N with partial container data, then
  N+1) are ordered by `detail.version`. The version we acted on is recorded in the report we
  write (a marker line at its end, which the report's tail-keeping bound never cuts), so
  DataHub itself holds the only state there is: a higher version replaces our own lower-version
  diagnosis; a lower or equal one is dropped. A terminal status written by the runner, the
  dispatcher or a person carries no marker and is never touched.
- Races with the runner: ECS emits STOPPED only after every container stopped, so the runner
  can no longer write by then; GMS may still be applying its last write asynchronously, so the
  logic re-reads right before writing (and waits a little first when the runner exited 0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from executor_common.results import ExecutionRequestResult
from executor_common.status import ExecutionStatus, is_terminal

STOPPED = "STOPPED"
_MARKER = re.compile(r"\[written by the executor's reconciler for ECS task (\S+), event version (\d+)\]\s*\Z")


def marker(task_id: str, version: int) -> str:
    """The report's last line: readable for people, parseable for the next event."""
    return f"[written by the executor's reconciler for ECS task {task_id}, event version {version}]"


def parse_marker(report: str | None) -> tuple[str, int] | None:
    match = _MARKER.search(report or "")
    return (match.group(1), int(match.group(2))) if match else None


@dataclass(frozen=True)
class Decision:
    write: bool
    why: str


def decide(
    current: ExecutionRequestResult | None, task_id: str, version: int, *, replaces_cancelled: bool = False
) -> Decision:
    """Whether a STOPPED event of `task_id` at `version` may write a terminal status over `current`.

    `replaces_cancelled`: ECS says this stop was a Spot reclaim, a termination notice or the backstop,
    so a CANCELLED the runner wrote on SIGTERM is replaced by what really happened.
    """
    if current is None:
        return Decision(True, "DataHub has no result for this run yet")
    if not is_terminal(current.status):
        return Decision(True, f"DataHub still shows {current.status}")
    ours = parse_marker(current.report)
    if ours is None and replaces_cancelled and current.status == ExecutionStatus.CANCELLED:
        return Decision(True, "the runner wrote CANCELLED on SIGTERM, but ECS says the task was not cancelled")
    if ours is None:
        return Decision(False, f"DataHub already shows the final status {current.status}")
    written_task, written_version = ours
    if written_task != task_id:
        return Decision(False, f"already reconciled from another task ({written_task})")
    if version > written_version:
        return Decision(True, f"event version {version} is newer than the reconciled version {written_version}")
    return Decision(False, f"already reconciled from event version {written_version} (this one is {version})")
