"""How the executor writes a duration for people (StopTask reasons, reports): one format everywhere."""

from __future__ import annotations


def human_duration(seconds: float) -> str:
    """3725 -> '1h 2m 5s', 90000 -> '1d 1h'; whole units only, largest first, zeros dropped."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{v}{unit}" for v, unit in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if v]
    return " ".join(parts) or "0s"
