"""Task-definition revisions that carry a run's secrets (ECS cannot override `secrets` per run).

One revision per distinct secret set, in a derived family whose name is a hash of the base
ARN and the NAME=ARN pairs: deterministic, so every container and every retry lands on the
same family, finds it ACTIVE and reuses it. Steady state: zero extra ECS calls (cached).
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from executor_common.aws.ecs import REGISTRABLE_FIELDS, EcsAdapter
from executor_common.errors import PermanentError, RetryableError

TAG_DERIVED_FROM = "datahub:derived-from"
TAG_SECRET_NAMES = "datahub:secret-names"
MAX_FAMILY_LENGTH = 255


def family_of(task_definition_arn: str) -> str:
    """`arn:aws:ecs:...:task-definition/<family>:<rev>` (or `family[:rev]`) -> `family`."""
    return task_definition_arn.rsplit("/", 1)[-1].split(":", 1)[0]


def derived_family(base_arn: str, secret_arns: dict[str, str]) -> str:
    """`<base family>-s<sha256(base arn + sorted NAME=ARN)[:12]>`."""
    material = base_arn + "\n" + "\n".join(f"{name}={secret_arns[name]}" for name in sorted(secret_arns))
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()[:12]
    suffix = f"-s{digest}"
    return family_of(base_arn)[: MAX_FAMILY_LENGTH - len(suffix)] + suffix


def derive_definition(
    base: dict[str, Any], container_name: str, secret_arns: dict[str, str], family: str
) -> dict[str, Any]:
    """The base's registrable fields with the run's secrets added to the runner container."""
    definition = {k: copy.deepcopy(v) for k, v in base.items() if k in REGISTRABLE_FIELDS and v not in (None, [], {})}
    definition["family"] = family
    containers = definition.get("containerDefinitions", [])
    runner = next((c for c in containers if c.get("name") == container_name), None)
    if runner is None:
        raise PermanentError(
            f"The base task definition has no container named {container_name!r} (RUNNER_CONTAINER_NAME)"
        )
    own = [s for s in runner.get("secrets", []) if s.get("name") not in secret_arns]
    runner["secrets"] = own + [{"name": name, "valueFrom": secret_arns[name]} for name in sorted(secret_arns)]
    return definition


def derived_tags(base_arn: str, secret_arns: dict[str, str]) -> list[dict[str, str]]:
    """Tag values allow letters, digits, spaces and `_.:/=+-@`: names are space-separated."""
    return [
        {"key": TAG_DERIVED_FROM, "value": base_arn[:256]},
        {"key": TAG_SECRET_NAMES, "value": " ".join(sorted(secret_arns))[:256]},
    ]


class TaskDefinitionResolver:
    """Finds or registers the revision for a base and a secret set; holds the caches for the container's life.

    `base_arn` is the default base (RunnerImage's); a run on another image passes that image's base
    (dispatcher/images.py). Each base is described at most once per container.
    """

    def __init__(self, ecs: EcsAdapter, base_arn: str, container_name: str) -> None:
        self._ecs = ecs
        self._base_arn = base_arn
        self._container_name = container_name
        self._bases: dict[str, dict[str, Any]] = {}
        self._by_family: dict[str, str] = {}

    def for_secrets(self, secret_arns: dict[str, str], base_arn: str | None = None) -> str:
        """The task definition ARN to run: the base itself when the recipe uses no secrets."""
        base_arn = base_arn or self._base_arn
        if not secret_arns:
            return base_arn
        family = derived_family(base_arn, secret_arns)
        cached = self._by_family.get(family)
        if cached is not None:
            return cached
        arn = self._ecs.find_active_task_definition(family) or self._register(base_arn, family, secret_arns)
        self._by_family[family] = arn
        return arn

    def forget(self, task_definition_arn: str) -> bool:
        """Drop a cached derived revision (someone deregistered it); True when there was one to drop."""
        stale = [family for family, arn in self._by_family.items() if arn == task_definition_arn]
        for family in stale:
            del self._by_family[family]
        return bool(stale)

    def _register(self, base_arn: str, family: str, secret_arns: dict[str, str]) -> str:
        definition = derive_definition(self._describe_base(base_arn), self._container_name, secret_arns, family)
        try:
            return self._ecs.register_task_definition(definition, derived_tags(base_arn, secret_arns))
        except RetryableError:
            # Racing other containers on this family: any ACTIVE revision of it is the same definition.
            registered = self._ecs.find_active_task_definition(family)
            if registered is None:
                raise
            return registered

    def _describe_base(self, base_arn: str) -> dict[str, Any]:
        if base_arn not in self._bases:
            self._bases[base_arn] = self._ecs.describe_task_definition(base_arn)["taskDefinition"]
        return self._bases[base_arn]
