"""MaxConcurrentVcpus of one dispatcher container: the parameter's number, or the account's Fargate vCPU quota.

With `MaxConcurrentVcpus=quota` (the default) the limit is the quota Service Quotas reports for the stack's
capacity provider: Spot tasks count against the Fargate Spot quota (L-36FBB829) only, on-demand tasks against
the On-Demand one (L-3032A538). `FARGATE_SPOT_WITH_FALLBACK` reads the On-Demand quota: every Spot run may
fall back to on-demand, and that bound keeps room for it. The quota changes rarely, so it is read once per
container and again after `VCPU_QUOTA_TTL_SECONDS`, never per launch. When it cannot be read (access denied,
no `servicequotas` endpoint for a Lambda in a VPC, a quota Service Quotas does not report) the stack has no
vCPU limit of its own, with one WARNING per read: RunTask's quota answer still makes runs wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from executor_common.aws.quotas import QuotasAdapter
from executor_common.errors import PermanentError, RetryableError

from dispatcher.observability import logger
from dispatcher.settings import DispatcherSettings

QUOTA = "quota"


class VcpuLimit:
    """Call it for the limit now (0 = none); reads Service Quotas at most once per `ttl_seconds`."""

    def __init__(
        self,
        setting: str | float,
        quotas: QuotasAdapter | None = None,
        *,
        spot: bool = False,
        ttl_seconds: float = 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.setting = setting
        self.quotas = quotas
        self.spot = spot
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._value: float | None = None
        self._until = 0.0

    @classmethod
    def of(cls, settings: DispatcherSettings, quotas: QuotasAdapter | None) -> VcpuLimit:
        return cls(
            settings.max_concurrent_vcpus,
            quotas,
            spot=settings.capacity_provider == "FARGATE_SPOT",
            ttl_seconds=settings.vcpu_quota_ttl_seconds,
        )

    @property
    def from_quota(self) -> bool:
        return self.setting == QUOTA

    def __call__(self) -> float:
        if not self.from_quota:
            return float(self.setting)
        now = self.clock()
        if self._value is None or now >= self._until:
            self._value, self._until = self._read(), now + self.ttl_seconds
        return self._value

    def _read(self) -> float:
        if self.quotas is None:
            return 0.0
        try:
            value = self.quotas.fargate_vcpu_quota(spot=self.spot)
        except (RetryableError, PermanentError) as exc:
            logger.warning(
                "Could not read the account's Fargate vCPU quota; no stack vCPU limit until the next read "
                "(RunTask's quota answer still makes runs wait). Allow servicequotas:GetServiceQuota and "
                "GetAWSDefaultServiceQuota, give a Lambda in a VPC a servicequotas interface endpoint, or set "
                "MaxConcurrentVcpus to a number",
                extra={"error": str(exc)[:300], "retry_in_seconds": self.ttl_seconds},
            )
            return 0.0
        logger.info("Stack vCPU limit from the account's Fargate quota", extra={"vcpus": value, "spot": self.spot})
        return max(0.0, value)


def limit_now(settings: DispatcherSettings, limit: Callable[[], float] | None) -> float:
    """MaxConcurrentVcpus now: `limit`'s answer (the container's VcpuLimit), else the setting's number (0 for quota)."""
    if limit is not None:
        return limit()
    return 0.0 if settings.max_concurrent_vcpus == QUOTA else float(settings.max_concurrent_vcpus)


def limit_named(settings: DispatcherSettings) -> str:
    """How a waiting run's reason names the vCPU limit, with a `{}` for its value: the user must know whether to
    raise the parameter or ask AWS for a higher quota."""
    if settings.max_concurrent_vcpus != QUOTA:
        return "the stack's limit is {} (MaxConcurrentVcpus)"
    kind = "Spot" if settings.capacity_provider == "FARGATE_SPOT" else "On-Demand"
    return f"the account's Fargate {kind} vCPU quota is {{}} (MaxConcurrentVcpus=quota)"
