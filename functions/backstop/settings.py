"""The backstop's environment, as one typed model validated at cold start (template.yaml sets it)."""

from __future__ import annotations

import functools

from executor_common.env_settings import EnvSettings
from executor_common.runspec import DEFAULT_RUN_TIMEOUT_SECONDS
from pydantic import Field

#: How long past its run timeout a task may keep running before the backstop stops it:
#: the runner's own timeout is the primary guard and must get the chance to report first.
DEFAULT_BACKSTOP_GRACE_SECONDS = 15 * 60
#: A run slot or source lease claimed this long ago whose run has no live task is stale: a claim is followed by RunTask
#: within seconds, so only a dispatcher that died between the two, or a lost STOPPED event, leaves one.
DEFAULT_STALE_SLOT_SECONDS = 5 * 60


class BackstopSettings(EnvSettings):
    """Read from the Lambda environment (names are the upper-cased fields)."""

    ecs_cluster: str
    default_run_timeout_seconds: int = Field(default=DEFAULT_RUN_TIMEOUT_SECONDS, gt=0)
    backstop_grace_seconds: int = Field(default=DEFAULT_BACKSTOP_GRACE_SECONDS, ge=0)
    #: The run bucket, whose stale `slots/` and `sources/` leases the sweep frees; unset: none.
    run_bucket: str | None = None
    stale_slot_seconds: int = Field(default=DEFAULT_STALE_SLOT_SECONDS, ge=0)
    aws_region: str = "us-east-1"
    powertools_metrics_namespace: str = "DataHubRemoteExecutor"


@functools.cache
def get_settings() -> BackstopSettings:
    """The settings of this container, read and validated once (tests call `get_settings.cache_clear()`)."""
    return BackstopSettings()  # type: ignore[call-arg]  # EnvSettings fills the fields from os.environ
