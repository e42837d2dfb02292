"""Which runner image a run pulls: the smallest that bakes every plugin the run needs.

Fargate keeps no image cache, so every run pays for its whole image (docs/runner-image.md). With
SmallRunnerImage set, a run whose plugins (its source type's and its `extra_pip_plugins`, by the
runner's own rule in `executor_common/datahub_plugins.py`) are all among SMALL_IMAGE_PLUGINS
launches from the small image's base task definition; any other run (a plugin the small image lacks,
a type that is not a plugin of it) from RunnerImage's, as before. Pure: no ECS call, so a launch
still costs one RunTask in steady state.
"""

from __future__ import annotations

from executor_common.datahub_plugins import run_plugins

from dispatcher.settings import DispatcherSettings
from dispatcher.validation import ValidatedRun


def base_task_definition(run: ValidatedRun, settings: DispatcherSettings) -> str:
    """The base task definition ARN of the image this run pulls (secret families derive from it)."""
    small = settings.small_task_definition_arn
    if small and set(run_plugins(run.source_type, run.args.extra_pip_plugins)) <= set(settings.small_image_plugins):
        return small
    return settings.task_definition_arn
