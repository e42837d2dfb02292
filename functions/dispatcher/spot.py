"""Fargate Spot, and Spot with an on-demand fallback: which capacity a run asks for, and the fallback itself.

`FARGATE_SPOT_WITH_FALLBACK` launches on Spot; when RunTask answers that Spot has no capacity, the same
run is launched on on-demand Fargate at once (not after a retry delay). The stack's CapacityProvider is
the default; a source may set EXECUTOR_CAPACITY_PROVIDER to opt in (or out).
"""

from __future__ import annotations

import hashlib
from typing import Any

from executor_common.aws.ecs import EcsAdapter
from executor_common.aws.errors import CapacityUnavailable
from executor_common.errors import PermanentError
from executor_common.runspec import ENV_CAPACITY_PROVIDER, ENV_RERUN_OF

from dispatcher.observability import logger
from dispatcher.overrides import with_runner_env
from dispatcher.settings import DispatcherSettings
from dispatcher.validation import ValidatedRun

FARGATE = "FARGATE"
FARGATE_SPOT = "FARGATE_SPOT"
SPOT_WITH_FALLBACK = "FARGATE_SPOT_WITH_FALLBACK"
CAPACITY_PROVIDERS = (FARGATE, FARGATE_SPOT, SPOT_WITH_FALLBACK)


def capacity_provider_for(run: ValidatedRun, settings: DispatcherSettings) -> str:
    """The source's EXECUTOR_CAPACITY_PROVIDER, else the stack's; PermanentError for an unknown value."""
    raw = (run.args.extra_env_vars.get(ENV_CAPACITY_PROVIDER) or settings.capacity_provider).strip().upper()
    if raw not in CAPACITY_PROVIDERS:
        raise PermanentError(f"{ENV_CAPACITY_PROVIDER}: {raw[:40]!r} is not one of {', '.join(CAPACITY_PROVIDERS)}")
    return raw


def capacity_fields(provider: str) -> dict[str, Any]:
    """RunTask's capacity fields: a Spot capacity provider strategy, or the FARGATE launch type."""
    if provider in (FARGATE_SPOT, SPOT_WITH_FALLBACK):
        return {"capacityProviderStrategy": [{"capacityProvider": FARGATE_SPOT, "weight": 1}]}
    return {"launchType": FARGATE}


def on_demand(request: dict[str, Any]) -> dict[str, Any]:
    """The same RunTask request on on-demand Fargate, with its own clientToken (a token is tied to its parameters)."""
    fallback = {key: value for key, value in request.items() if key != "capacityProviderStrategy"}
    fallback["launchType"] = FARGATE
    if request.get("clientToken"):
        fallback["clientToken"] = hashlib.sha256(f"{request['clientToken']}:on-demand".encode()).hexdigest()
    return fallback


def run_task(
    ecs: EcsAdapter, request: dict[str, Any], run: ValidatedRun, settings: DispatcherSettings
) -> dict[str, Any]:
    """RunTask; with Spot-with-fallback, a Spot capacity answer launches on on-demand at once.

    The reconciler's on-demand re-run of an interrupted Spot run (EXECUTOR_RERUN_OF) gets its own clientToken:
    the execution request's token already belongs to the interrupted task.
    """
    rerun_of = run.args.extra_env_vars.get(ENV_RERUN_OF)
    if rerun_of:
        logger.info("On-demand re-run of an interrupted Spot run", extra={"rerun_of": rerun_of})
        return ecs.run_task(on_demand(request))
    if capacity_provider_for(run, settings) == SPOT_WITH_FALLBACK:
        # the reconciler reads from the stopped task that the run may be re-run on on-demand
        request = with_runner_env(request, ENV_CAPACITY_PROVIDER, SPOT_WITH_FALLBACK)
    try:
        return ecs.run_task(request)
    except CapacityUnavailable as exc:
        if not exc.spot or capacity_provider_for(run, settings) != SPOT_WITH_FALLBACK:
            raise
        logger.info("No Spot capacity: launching on on-demand Fargate", extra={"reason": str(exc)[:300]})
        return ecs.run_task(on_demand(request))
