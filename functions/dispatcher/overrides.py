"""One more variable in the runner container's env of a planned RunTask request.

What is decided after planning travels there (the Spot fallback marker, the run slot): ECS's task
events carry the overrides, not the tags, so the reconciler reads them from the stopped task.
"""

from __future__ import annotations

import copy
from typing import Any


def with_runner_env(request: dict[str, Any], name: str, value: str) -> dict[str, Any]:
    """A copy of `request` whose runner container (the first override) also has `name=value`."""
    changed = copy.deepcopy(request)
    changed["overrides"]["containerOverrides"][0].setdefault("environment", []).append({"name": name, "value": value})
    return changed
