"""`diagnose` is the reconciler's one decision about *why*: a table of ECS facts -> status and plain words."""

from __future__ import annotations

import pytest
from executor_common.status import ExecutionStatus
from reconciler.diagnosis import diagnose
from reconciler.task_event import TaskStateChangeEvent
from reconciler_builders import container, detail

from tests.conftest import load_event

OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"
PULL = "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref x:1: not found"
SECRETS = (
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: "
    "unable to retrieve secret from asm: failed to fetch secret arn:aws:secretsmanager:us-east-1:1:secret:x"
)
REGISTRY = "ResourceInitializationError: unable to pull secrets or registry auth: unable to retrieve ecr registry auth"
LOGGER = "ResourceInitializationError: failed to validate logger args: The specified log group does not exist."


@pytest.mark.parametrize(
    ("case", "status", "reason", "must_say"),
    [
        (
            detail(containers=[container(exit_code=137, reason=OOM_REASON)]),
            ExecutionStatus.FAILURE,
            "OutOfMemory",
            ["out of memory", "EXECUTOR_TASK_MEMORY", "4096 MiB", "8192"],
        ),
        (
            detail(containers=[container(exit_code=137)]),
            ExecutionStatus.FAILURE,
            "OutOfMemory",
            ["exit code 137", "EXECUTOR_TASK_MEMORY"],
        ),
        (
            detail(stop_code="TaskFailedToStart", stopped_reason=PULL, containers=[container(reason=PULL)]),
            ExecutionStatus.FAILURE,
            "ImagePull",
            ["could not be pulled", "tag", "ECR", "NAT", "VPC endpoints"],
        ),
        (
            detail(stop_code="TaskFailedToStart", stopped_reason=SECRETS, containers=[container()]),
            ExecutionStatus.FAILURE,
            "ResourceInitialization",
            ["secret", "execution role", "secretsmanager:GetSecretValue", "VPC endpoint", "name or ARN"],
        ),
        (
            detail(stop_code="TaskFailedToStart", stopped_reason=REGISTRY, containers=[container()]),
            ExecutionStatus.FAILURE,
            "ResourceInitialization",
            ["registry", "execution role", "VPC endpoints"],
        ),
        (
            detail(stop_code="TaskFailedToStart", stopped_reason=LOGGER, containers=[container()]),
            ExecutionStatus.FAILURE,
            "ResourceInitialization",
            ["log group", "CloudWatch Logs"],
        ),
        (
            detail(
                stop_code="TaskFailedToStart",
                stopped_reason="Timeout waiting for network interface provisioning to complete.",
                containers=[],
            ),
            ExecutionStatus.FAILURE,
            "FailedToStart",
            ["never started", "network interface", "free", "Availability Zones", "Containers: none were created"],
        ),
        (
            detail(
                stop_code="TaskFailedToStart", stopped_reason="Capacity is unavailable at this time.", containers=[]
            ),
            ExecutionStatus.FAILURE,
            "FailedToStart",
            ["capacity"],
        ),
        (
            detail(containers=[container(exit_code=2)]),
            ExecutionStatus.FAILURE,
            "ContainerExited",
            ["exited with code 2", "could not reach DataHub"],
        ),
        (
            detail(containers=[container(exit_code=0)]),
            ExecutionStatus.FAILURE,
            "ExitedWithoutReport",
            ["exit code 0", "never reached DataHub"],
        ),
        (
            detail(
                stop_code="UserInitiated",
                stopped_reason="Cancelled in DataHub by urn:li:corpuser:jdoe",
                containers=[container(exit_code=137)],
            ),
            ExecutionStatus.CANCELLED,
            "Cancelled",
            ["cancelled", "urn:li:corpuser:jdoe"],
        ),
        (
            detail(
                stop_code="UserInitiated", stopped_reason="Task stopped by user", containers=[container(exit_code=137)]
            ),
            ExecutionStatus.CANCELLED,
            "StoppedByUser",
            ["outside DataHub", "Task stopped by user"],
        ),
        (
            detail(
                stop_code="UserInitiated",
                stopped_reason="Stopped by the executor's backstop: running for 1d 16m, longer than its timeout 1d",
                containers=[container(exit_code=137)],
            ),
            ExecutionStatus.FAILURE,
            "TimedOut",
            ["timed out", "EXECUTOR_RUN_TIMEOUT_SECONDS"],
        ),
        (
            detail(
                stop_code="SpotInterruption",
                stopped_reason="Your Spot Task was interrupted.",
                capacityProviderName="FARGATE_SPOT",
            ),
            ExecutionStatus.ABORTED,
            "SpotInterruption",
            ["Spot", "FARGATE"],
        ),
        (
            detail(stop_code="TerminationNotice", stopped_reason="Task stopped due to a termination notice"),
            ExecutionStatus.ABORTED,
            "TerminationNotice",
            ["termination notice", "Run it again"],
        ),
        (
            detail(stop_code=None, stopped_reason=None, containers=[container()]),
            ExecutionStatus.FAILURE,
            "Unknown",
            ["without reporting"],
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_diagnose_each_stop_gives_status_and_plain_words(case, status, reason, must_say):
    diagnosis = diagnose(case)

    assert diagnosis.status == status
    assert diagnosis.reason == reason
    text = " ".join([diagnosis.headline, diagnosis.explanation, diagnosis.fix, *diagnosis.details])
    for words in must_say:
        assert words.lower() in text.lower(), f"{words!r} missing from: {text}"


def test_diagnose_oom_reason_wins_over_a_user_stop_code():
    # GIVEN a task whose container was OOM-killed, even though a stop was also requested
    case = detail(
        stop_code="UserInitiated", stopped_reason="x", containers=[container(exit_code=137, reason=OOM_REASON)]
    )

    assert diagnose(case).reason == "OutOfMemory"


def test_diagnose_exit_137_after_a_cancel_is_a_cancel_not_oom():
    # StopTask sends SIGTERM then SIGKILL: exit 137 after a cancel is the kill, not memory
    case = detail(
        stop_code="UserInitiated",
        stopped_reason="Cancelled in DataHub by urn:li:corpuser:a",
        containers=[container(exit_code=137)],
    )

    assert diagnose(case).status == ExecutionStatus.CANCELLED


def test_diagnose_memory_override_is_the_size_named():
    case = detail(
        containers=[container(exit_code=137, reason=OOM_REASON)],
        memory="4096",
        overrides={"memory": "16384", "containerOverrides": []},
    )

    assert "16384 MiB" in diagnose(case).explanation


def test_diagnose_facts_list_every_container_and_the_stop():
    case = detail(containers=[container("runner", exit_code=137, reason=OOM_REASON), container("sidecar", exit_code=0)])

    facts = "\n".join(diagnose(case).details)

    assert "Stop code: EssentialContainerExited" in facts
    assert "Stopped reason: Essential container in task exited" in facts
    assert f"Container runner: exit code 137, reason: {OOM_REASON}" in facts
    assert "Container sidecar: exit code 0" in facts
    assert "Task: arn:aws:ecs:" in facts
    assert "memory 4096 MiB" in facts


@pytest.mark.parametrize(
    ("event_file", "status", "reason"),
    [
        ("ecs_task_stopped_oom.json", ExecutionStatus.FAILURE, "OutOfMemory"),
        ("ecs_task_stopped_image_pull.json", ExecutionStatus.FAILURE, "ImagePull"),
        ("ecs_task_stopped_secrets.json", ExecutionStatus.FAILURE, "ResourceInitialization"),
        ("ecs_task_failed_to_start.json", ExecutionStatus.FAILURE, "FailedToStart"),
        ("ecs_task_stopped_after_success.json", ExecutionStatus.FAILURE, "ExitedWithoutReport"),
        ("ecs_task_stopped_cancelled.json", ExecutionStatus.CANCELLED, "Cancelled"),
        ("ecs_task_stopped_spot.json", ExecutionStatus.ABORTED, "SpotInterruption"),
        ("ecs_task_stopped_backstop.json", ExecutionStatus.FAILURE, "TimedOut"),
    ],
)
def test_diagnose_sample_events_match_their_names(event_file, status, reason):
    event = TaskStateChangeEvent.model_validate(load_event(event_file))

    diagnosis = diagnose(event.detail)

    assert (diagnosis.status, diagnosis.reason) == (status, reason)


def test_diagnose_secret_failure_names_the_secret_and_the_denial():
    event = TaskStateChangeEvent.model_validate(load_event("ecs_task_stopped_secrets.json"))

    explanation = diagnose(event.detail).explanation

    assert "secret:datahub-executor/SNOWFLAKE_PASSWORD-Xy12Ab" in explanation
    assert "not allowed to read it" in explanation
