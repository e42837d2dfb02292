"""`${NAME}` -> Secrets Manager ARN, from SECRET_ARNS first, else the secret named prefix + NAME.

Found ARNs are cached for the life of the container with a TTL, so a steady stream of
runs makes no Secrets Manager calls; misses are never cached, so a secret created after
a failed run is found on the next one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from executor_common.aws.secretsmanager import SecretsManagerAdapter
from executor_common.errors import PermanentError

from dispatcher.classify import raise_classified

SECRET_CACHE_SECONDS = 300.0


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

    def resolve(self, names: Iterable[str]) -> dict[str, str]:
        """NAME -> ARN for every name; PermanentError listing every missing one, RetryableError on throttling."""
        resolved: dict[str, str] = {}
        missing: list[str] = []
        for name in sorted(set(names)):
            arn = self._lookup(name)
            if arn is None:
                missing.append(name)
            else:
                resolved[name] = arn
        if missing:
            lines = [
                f"- ${{{name}}}: not in the stack's SECRET_ARNS and no secret named "
                f"{self._prefix + name!r} in Secrets Manager"
                for name in missing
            ]
            raise PermanentError(
                "The recipe references secrets that do not exist:\n"
                + "\n".join(lines)
                + f"\nCreate them in Secrets Manager with the name prefix {self._prefix!r} "
                "(or add NAME=ARN to the stack's secrets parameter) and run again."
            )
        return resolved

    def _lookup(self, name: str) -> str | None:
        if name in self._configured:
            return self._configured[name]
        cached = self._cache.get(name)
        now = self._clock()
        if cached is not None and now - cached[1] < self._ttl:
            return cached[0]
        secret_id = self._prefix + name
        try:
            arn = self._adapter.find_secret_arn(secret_id)
        except Exception as exc:
            raise_classified(exc, f"Looking up the secret {secret_id!r} in Secrets Manager")
        if arn is not None:
            self._cache[name] = (arn, now)
        return arn
