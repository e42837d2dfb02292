"""`${NAME}` -> Secrets Manager ARN, from SECRET_ARNS first, else the secret named prefix + NAME.

Names Secrets Manager lacks are left to DataHub's secret store when the stack keeps it on (`split`).

Names not configured nor cached are looked up together, in one ListSecrets listing (never one
call per name: a recipe may reference thousands). Found ARNs are cached for the life of the
container with a TTL, so a steady stream of runs makes no Secrets Manager calls; misses are
never cached, so a secret created after a failed run is found on the next one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from executor_common.aws.secretsmanager import SecretsManagerAdapter
from executor_common.errors import PermanentError

SECRET_CACHE_SECONDS = 300.0
#: A FAILURE names at most this many missing secrets (then counts the rest).
MAX_LISTED_MISSING = 50


class SecretResolver:
    def __init__(
        self,
        adapter: SecretsManagerAdapter,
        configured_arns: dict[str, str],
        name_prefix: str,
        *,
        ttl_seconds: float = SECRET_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._adapter = adapter
        self._configured = dict(configured_arns)
        self._prefix = name_prefix
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[str, float]] = {}

    @property
    def adapter(self) -> SecretsManagerAdapter:
        return self._adapter

    def resolve(self, names: Iterable[str]) -> dict[str, str]:
        """NAME -> ARN for every name; PermanentError listing every missing one, RetryableError on throttling."""
        resolved, missing = self.lookup(names)
        if missing:
            lines = [
                f"- ${{{name}}}: not in the stack's SECRET_ARNS and no secret named "
                f"{self._prefix + name!r} in Secrets Manager"
                for name in missing[:MAX_LISTED_MISSING]
            ]
            if len(missing) > MAX_LISTED_MISSING:
                lines.append(f"- and {len(missing) - MAX_LISTED_MISSING} more")
            raise PermanentError(
                "The recipe references secrets that do not exist:\n"
                + "\n".join(lines)
                + f"\nCreate them in Secrets Manager with the name prefix {self._prefix!r} "
                "(or add NAME=ARN to the stack's secrets parameter) and run again. "
                "DataHub's secret store (Settings -> Secrets) is turned off for this stack (DataHubSecretStore)."
            )
        return resolved

    def lookup(self, names: Iterable[str]) -> tuple[dict[str, str], list[str]]:
        """(NAME -> ARN of the names Secrets Manager has, the sorted names it lacks); RetryableError on throttling."""
        resolved: dict[str, str] = {}
        unknown: list[str] = []
        now = self._clock()
        for name in sorted(set(names)):
            arn = self._configured.get(name) or self._cached(name, now)
            if arn is None:
                unknown.append(name)
            else:
                resolved[name] = arn
        if unknown:
            found = self._adapter.find_secret_arns([self._prefix + name for name in unknown], self._prefix)
            for name in unknown:
                arn = found.get(self._prefix + name)
                if arn is not None:
                    self._cache[name] = (arn, now)
                    resolved[name] = arn
        return resolved, [name for name in unknown if name not in resolved]

    def split(self, names: Iterable[str], *, datahub_store: bool) -> tuple[dict[str, str], list[str]]:
        """Per name, Secrets Manager first, then (when on) DataHub's secret store: (ARNs, names for DataHub).

        The names left for DataHub are not checked here: only the runner may read DataHub's values
        (executor_common/datahub_secrets.py), so it reports a name found in neither store. With
        DataHub's store off, a missing name is a PermanentError at once.
        """
        if not datahub_store:
            return self.resolve(names), []
        return self.lookup(names)

    def _cached(self, name: str, now: float) -> str | None:
        cached = self._cache.get(name)
        if cached is not None and now - cached[1] < self._ttl:
            return cached[0]
        return None
