"""The StopTask reason the backstop gives, shared with the diagnosis that recognises it later."""

from __future__ import annotations

BACKSTOP_REASON_PREFIX = "Stopped by the executor's backstop"
#: ECS keeps at most 255 characters of a StopTask reason.
MAX_REASON_CHARS = 255


def human_duration(seconds: float) -> str:
    """3725 -> '1h 2m 5s'; whole units only, largest first, zeros dropped."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{v}{unit}" for v, unit in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if v]
    return " ".join(parts) or "0s"


def backstop_reason(running_seconds: float, timeout_seconds: int, grace_seconds: int) -> str:
    reason = (
        f"{BACKSTOP_REASON_PREFIX}: running for {human_duration(running_seconds)}, "
        f"longer than its timeout {human_duration(timeout_seconds)} (+{human_duration(grace_seconds)} grace)"
    )
    return reason[:MAX_REASON_CHARS]
