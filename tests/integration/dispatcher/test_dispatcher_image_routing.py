"""Each run pulls the smallest runner image that bakes its plugins (SmallRunnerImage, dispatcher/images.py).

Through the handler, against the stack as template.yaml makes it with SmallRunnerImage set: the second base
task definition is registered from the template's SmallRunnerTaskDefinition and the dispatcher gets the
environment the template gives it. Secrets still reach a run only through `secrets/valueFrom` of a family
derived from the right base, and a launch is still one RunTask in steady state (issue 13 item 3).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from dispatcher.task_definitions import derived_family, family_of
from dispatcher_helpers import (
    FAMILY,
    PG_PASSWORD_VALUE,
    PG_RECIPE,
    SQLITE_RECIPE,
    failed_ids,
    run_body,
    sqs_event,
    template_resources,
)

SMALL_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/datahub-executor-runner:1.7.0.17-small"
SNOWFLAKE_RECIPE = {
    "source": {"type": "snowflake", "config": {"account_id": "acme", "username": "u", "password": "${PG_PASSWORD}"}}
}


def with_plugins(body: str, plugins: list[str]) -> str:
    message = json.loads(body)
    message["aspect"]["args"]["extra_pip_plugins"] = json.dumps(plugins)
    return json.dumps(message)


@pytest.fixture
def routed(dispatcher_stack: Any, moto_account: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """GIVEN the stack deployed with SmallRunnerImage (the ...-small tag and its default plugin set)."""
    from dispatcher.handler import dependencies
    from dispatcher.settings import get_settings

    resources = template_resources(
        moto_account.secret_arns["DATAHUB_GMS_TOKEN"],
        moto_account.subnet_id,
        moto_account.security_group_id,
        SmallRunnerImage=SMALL_IMAGE,
    )
    resources.name("RunnerTaskDefinition", moto_account.base_task_definition_arn)
    small = resources.task_definition_request("SmallRunnerTaskDefinition")
    small_arn = dispatcher_stack.ecs.register_task_definition(**small)["taskDefinition"]["taskDefinitionArn"]
    resources.name("SmallRunnerTaskDefinition", small_arn)
    environment = resources.function_environment("DispatcherFunction")
    for name in ("SMALL_TASK_DEFINITION_ARN", "SMALL_IMAGE_PLUGINS"):
        monkeypatch.setenv(name, environment[name])
    get_settings.cache_clear()
    dependencies.cache_clear()
    dispatcher_stack.small_task_definition_arn = small_arn
    return dispatcher_stack


def launched(stack: Any) -> dict[str, dict[str, Any]]:
    """startedBy -> the task definition its task runs."""
    return {
        task["startedBy"]: stack.ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])[
            "taskDefinition"
        ]
        for task in stack.tasks()
    }


def test_handler_small_set_sources_run_on_the_small_image_the_others_on_the_full_one(routed):
    # GIVEN runs of a small-set source with a secret, one without secrets (SQLite through sqlalchemy),
    # snowflake, postgres needing the s3 plugin too, and a test connection of each kind
    bodies = [
        run_body("pg", PG_RECIPE),
        run_body("sqlite", SQLITE_RECIPE),
        run_body("snowflake", SNOWFLAKE_RECIPE),
        with_plugins(run_body("pg-s3", PG_RECIPE), ["s3"]),
        run_body("pg-test", PG_RECIPE, task="TEST_CONNECTION"),
        run_body("snowflake-test", SNOWFLAKE_RECIPE, task="TEST_CONNECTION"),
    ]

    response = routed.invoke(sqs_event(*bodies))

    # THEN each launched once, from the base of the image that bakes its plugins
    assert failed_ids(response) == []
    definitions = launched(routed)
    images = {run: definition["containerDefinitions"][0]["image"] for run, definition in definitions.items()}
    full_image = images["snowflake"]
    assert full_image != SMALL_IMAGE
    assert images == {
        "pg": SMALL_IMAGE,
        "sqlite": SMALL_IMAGE,
        "pg-test": SMALL_IMAGE,
        "snowflake": full_image,
        "pg-s3": full_image,
        "snowflake-test": full_image,
    }
    # AND a run without secrets runs the small base itself; runs with secrets a family derived from their base
    assert definitions["sqlite"]["taskDefinitionArn"] == routed.small_task_definition_arn
    secret = {"PG_PASSWORD": routed.secret_arns["PG_PASSWORD"]}
    assert definitions["pg"]["family"] == derived_family(routed.small_task_definition_arn, secret)
    assert definitions["pg"]["family"].startswith(f"{FAMILY}-small-s")
    assert definitions["snowflake"]["family"] == derived_family(routed.base_task_definition_arn, secret)
    assert definitions["pg-test"]["family"] == definitions["pg"]["family"]
    # AND secrets reach them only as `valueFrom` references, never as values
    for run in ("pg", "snowflake"):
        assert definitions[run]["containerDefinitions"][0]["secrets"] == [
            {"name": "DATAHUB_GMS_TOKEN", "valueFrom": routed.secret_arns["DATAHUB_GMS_TOKEN"]},
            {"name": "PG_PASSWORD", "valueFrom": routed.secret_arns["PG_PASSWORD"]},
        ]
    assert PG_PASSWORD_VALUE not in json.dumps([definitions, routed.tasks()], default=str)
    assert PG_PASSWORD_VALUE not in routed.logs()


def test_handler_image_routing_keeps_one_ecs_call_per_launch_in_steady_state(routed):
    # GIVEN a container that has launched runs on both images, with and without secrets
    warm = ["pg", "sqlite", "snowflake"]
    recipes = {"pg": PG_RECIPE, "sqlite": SQLITE_RECIPE, "snowflake": SNOWFLAKE_RECIPE}
    routed.invoke(sqs_event(*(run_body(f"{name}-1", recipes[name]) for name in warm)))
    routed.ecs_calls.calls.clear()

    # WHEN more runs of the same kinds arrive
    response = routed.invoke(sqs_event(*(run_body(f"{name}-2", recipes[name]) for name in warm)))

    # THEN each is one RunTask: the bases and the derived families are cached per container
    assert failed_ids(response) == []
    assert dict(routed.ecs_calls.calls) == {"RunTask": 3}
    families = {run: family_of(definition["taskDefinitionArn"]) for run, definition in launched(routed).items()}
    assert families["pg-2"] == families["pg-1"] and families["snowflake-2"] == families["snowflake-1"]
    assert families["sqlite-2"] == f"{FAMILY}-small"
