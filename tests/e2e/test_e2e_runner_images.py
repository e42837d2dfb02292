"""Per-plugin-set runner images through the local stack (issue 13 item 5): each run pulls the smallest image
that bakes its plugins.

The stack is created from template.yaml with SmallRunnerImage set, so moto's CloudFormation makes the second
base task definition; the local agent records which image each task's definition names (it runs the local
runner whatever the image). Secrets still reach a run only as `secrets/valueFrom` of a family derived from its
image's base.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import E2E_SECRET, TERMINAL, stopped_task_of

from local_stack.commands import new_execution_urn, run_command, sqlite_recipe

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

SMALL_IMAGE = "local/datahub-executor-runner:latest-small"
SECRET_REFERENCE = "${" + E2E_SECRET + "}"


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    """GIVEN the local stack deployed with SmallRunnerImage (default SmallRunnerImagePlugins)."""
    from local_stack.stack import LocalStack

    local = LocalStack(log_level="ERROR", extra_parameters={"SmallRunnerImage": SMALL_IMAGE}).start()
    try:
        yield local
    finally:
        local.stop()


def base_image(stack: Any) -> str:
    """RunnerImage as the local stack deploys it (read back from its base task definition)."""
    definition = stack.aws.client("ecs").describe_task_definition(taskDefinition=stack.info.task_definition_arn)
    return str(definition["taskDefinition"]["containerDefinitions"][0]["image"])


def task_definition_of(stack: Any, task: dict[str, Any]) -> dict[str, Any]:
    described = stack.aws.client("ecs").describe_task_definition(
        taskDefinition=task["taskDefinitionArn"], include=["TAGS"]
    )
    return {**described["taskDefinition"], "tags": {t["key"]: t["value"] for t in described.get("tags", [])}}


def test_sqlalchemy_run_pulls_the_small_image_and_reaches_success(stack: Any, source_db: Path) -> None:
    # GIVEN a SQLite (sqlalchemy source) recipe whose database path is a Secrets Manager secret
    urn = new_execution_urn("e2e-small-image")

    # WHEN DataHub sends RUN_INGEST
    stack.send(run_command(urn, sqlite_recipe(SECRET_REFERENCE, pipeline_name="e2e-small-image")))

    # THEN the run ends in SUCCESS, on a family derived from the small image's base
    result = stack.gms.wait_for_status(urn, TERMINAL, timeout=90)
    assert result["status"] == "SUCCESS", result.get("report", "")[-2000:]
    task = stopped_task_of(stack, urn)
    assert stack.info.small_task_definition_arn.rsplit("/", 1)[-1].startswith("datahub-executor-local-runner-small:")
    definition = task_definition_of(stack, task)
    assert definition["tags"]["datahub:derived-from"] == stack.info.small_task_definition_arn
    assert definition["family"].startswith("datahub-executor-local-runner-small-s")
    assert stack.agent.image(task["taskArn"]) == SMALL_IMAGE
    # AND its secret only as a reference ECS resolves at start, never as a value
    secrets = {s["name"]: s["valueFrom"] for s in definition["containerDefinitions"][0]["secrets"]}
    assert sorted(secrets) == ["DATAHUB_GMS_TOKEN", E2E_SECRET]
    assert secrets[E2E_SECRET].split(":secret:")[1].startswith(f"datahub-executor/{E2E_SECRET}")
    assert str(source_db) not in str(definition)


def test_snowflake_run_pulls_the_full_image(stack: Any, source_db: Path) -> None:
    # GIVEN a snowflake recipe (the small image does not bake snowflake) with a secret
    urn = new_execution_urn("e2e-full-image")
    recipe = {"source": {"type": "snowflake", "config": {"account_id": "acme", "password": SECRET_REFERENCE}}}

    # WHEN DataHub sends RUN_INGEST
    stack.send(run_command(urn, recipe))

    # THEN its task runs a family derived from RunnerImage's base
    result = stack.gms.wait_for_status(urn, TERMINAL, timeout=90)
    task = stopped_task_of(stack, urn)
    definition = task_definition_of(stack, task)
    assert definition["tags"]["datahub:derived-from"] == stack.info.task_definition_arn
    assert definition["family"].startswith("datahub-executor-local-runner-s")
    assert stack.agent.image(task["taskArn"]) == base_image(stack) != SMALL_IMAGE
    assert E2E_SECRET in {s["name"] for s in definition["containerDefinitions"][0]["secrets"]}
    # AND (this machine's runner has no snowflake plugin and installs no packages) the runner says why it failed
    assert result["status"] == "FAILURE"
    assert "snowflake" in result.get("report", "")


def test_small_image_base_is_the_runner_base_but_for_the_image(stack: Any) -> None:
    ecs = stack.aws.client("ecs")
    full, small = (
        ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        for arn in (stack.info.task_definition_arn, stack.info.small_task_definition_arn)
    )

    assert small["containerDefinitions"][0]["image"] == SMALL_IMAGE
    assert full["containerDefinitions"][0]["image"] == base_image(stack) != SMALL_IMAGE
    for definition in (full, small):
        definition["containerDefinitions"][0].pop("image")
    keys = ("cpu", "memory", "executionRoleArn", "taskRoleArn", "containerDefinitions")
    assert {k: small.get(k) for k in keys} == {k: full.get(k) for k in keys}
