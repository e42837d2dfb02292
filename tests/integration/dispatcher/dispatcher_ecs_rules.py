"""A count of the ECS calls the dispatcher makes (issue 13: exactly one per launched run).

ECS's own rules (clientToken idempotency, the ListTasks `startedBy` filter, `startedBy` length) are
enforced for every test by `local_stack.aws_fidelity`, loaded through tests/support/moto_fidelity.py.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3


class EcsCallCounter:
    """A botocore handler on boto3's default session: every client made afterwards counts its ECS calls."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def install(self) -> None:
        boto3._get_default_session().events.register("before-call.ecs", self._count, unique_id="ecs-call-counter")

    def uninstall(self) -> None:
        boto3._get_default_session().events.unregister("before-call.ecs", unique_id="ecs-call-counter")

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1
