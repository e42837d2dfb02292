"""Typed errors for the AWS answers that callers branch on (everything else is Retryable/Permanent).

They exist so that no caller inspects an AWS error code or message: the adapter that made the
call recognises the case and says so with a type.
"""

from __future__ import annotations

from executor_common.errors import ExecutorError, PermanentError, RetryableError


class TaskDefinitionInactive(PermanentError):
    """RunTask refused `task_definition` as INACTIVE (someone deregistered it).

    Permanent for the base task definition; a cached derived revision can be forgotten and registered afresh.
    """

    def __init__(self, task_definition: str, reason: str) -> None:
        super().__init__(reason)
        self.task_definition = task_definition


class RunTaskConflict(ExecutorError):
    """RunTask's `clientToken` is already in use with other parameters: the run was launched before.

    `task_arns` are the tasks ECS names as holding the token (`resourceIds`); empty when it named none.
    """

    def __init__(self, task_arns: list[str], message: str) -> None:
        super().__init__(message)
        self.task_arns = task_arns


class CapacityUnavailable(RetryableError):
    """RunTask found no room: Fargate capacity, or the account's vCPU/task quota ("You've reached the limit ...").

    Not a fault of the run: the dispatcher makes it wait (never counted as a failed attempt).
    `spot` says whether it was Spot capacity that was missing (then on-demand can be tried at once).
    """

    def __init__(self, message: str, *, spot: bool = False) -> None:
        super().__init__(message)
        self.spot = spot


class RunTaskThrottled(RetryableError):
    """ECS throttled RunTask ("Rate exceeded"): the account's RunTask tokens are spent for now.

    Not a fault of the run and not a failed attempt: the dispatcher sends the run back to be tried
    in a few seconds, and its own pace drops to nothing until its bucket refills.
    """
