"""EventBridge schedules, played locally: call each scheduled function at its rule's rate.

moto stores schedule rules but never fires them, and it treats a rule without an event
pattern as matching every `put_events` call and then fails on its Lambda target
(NotImplementedError). So the local stack detaches the Lambda targets of schedule rules
from moto (`take_over_schedules`) and fires them from here with a "Scheduled Event".
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float | None:
    """`rate(10 minutes)` -> 600.0; None for cron() expressions (not played locally)."""
    match = _RATE.match(expression.strip())
    if not match:
        return None
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


@dataclass(frozen=True)
class Schedule:
    rule_arn: str
    function_arn: str
    interval_seconds: float


def take_over_schedules(events: Any) -> list[Schedule]:
    """Detach every Lambda target of a schedule rule from moto; returns what to fire locally."""
    schedules: list[Schedule] = []
    for rule in events.list_rules()["Rules"]:
        expression = rule.get("ScheduleExpression")
        if not expression:
            continue
        targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        lambda_targets = [t for t in targets if ":lambda:" in t["Arn"]]
        if lambda_targets:
            events.remove_targets(Rule=rule["Name"], Ids=[t["Id"] for t in lambda_targets])
        interval = rate_seconds(expression)
        for target in lambda_targets:
            if interval is None:
                logger.warning("Schedule %s of %s is not a rate(); not fired locally", expression, target["Arn"])
                continue
            schedules.append(Schedule(rule["Arn"], target["Arn"], interval))
    return schedules


class ScheduleRunner:
    """Fires each schedule on a background thread; `fire(schedule)` invokes the target function."""

    def __init__(self, schedules: list[Schedule], fire: Callable[[Schedule], object]) -> None:
        self._schedules = schedules
        self._fire = fire
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> ScheduleRunner:
        for schedule in self._schedules:
            thread = threading.Thread(target=self._loop, args=(schedule,), name="schedule", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _loop(self, schedule: Schedule) -> None:
        while not self._stop.wait(schedule.interval_seconds):
            try:
                self._fire(schedule)
            except Exception:
                logger.exception("The scheduled invocation of %s failed", schedule.function_arn)
