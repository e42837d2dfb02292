"""An invalid request becomes a FAILURE that names exactly what is wrong; nothing is launched.

Dispatcher behaviour 3 in docs/architecture.md.
"""

from __future__ import annotations

import json

import pytest
from dispatcher_helpers import PG_RECIPE, SQLITE_RECIPE, failed_ids, run_body, sqs_event, urn_of

from tests.conftest import load_event


def _reject(stack, body: str, urn: str) -> str:
    response = stack.invoke(sqs_event(body))
    assert failed_ids(response) == []
    assert stack.tasks() == []
    result = stack.gms.result(urn)
    assert result is not None and result["status"] == "FAILURE"
    return result["report"]


def test_handler_unknown_secret_fails_naming_the_secret_and_where_it_looked(dispatcher_stack):
    # GIVEN the mixed batch's snowflake run referencing ${SNOWFLAKE_PASSWORD}, which does not exist
    event = load_event("mixed_batch.json")
    event["Records"] = [event["Records"][3]]

    dispatcher_stack.invoke(event)

    report = dispatcher_stack.gms.result("urn:li:dataHubExecutionRequest:4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8")[
        "report"
    ]
    assert "FAILURE" not in report  # the status carries that; the report explains
    assert "${SNOWFLAKE_PASSWORD}" in report
    assert "'datahub-executor/SNOWFLAKE_PASSWORD'" in report
    assert dispatcher_stack.tasks() == []


# The full table of validation rules is in tests/unit/dispatcher/test_validation.py; these prove the flow.
@pytest.mark.parametrize(
    ("recipe", "env", "version", "expected"),
    [
        ("not json at all", {}, "1.7.0.17", "the recipe is not valid JSON"),
        (SQLITE_RECIPE, {"AWS_ACCESS_KEY_ID": "x"}, "1.7.0.17", "extra env var AWS_ACCESS_KEY_ID: reserved"),
        (PG_RECIPE, {"PG_PASSWORD": "x"}, "1.7.0.17", "collides with the secret ${PG_PASSWORD}"),
        (
            SQLITE_RECIPE,
            {"EXECUTOR_TASK_CPU": "1024", "EXECUTOR_TASK_MEMORY": "512"},
            "1.7.0.17",
            "memory 512 MiB is not valid with CPU 1024; use one of 2048, 3072, 4096, 5120, 6144, 7168, 8192",
        ),
    ],
)
def test_handler_invalid_request_fails_naming_the_problem(dispatcher_stack, recipe, env, version, expected):
    execution_id = "invalid-request-1"
    report = _reject(dispatcher_stack, run_body(execution_id, recipe, env=env, version=version), urn_of(execution_id))
    assert expected in report


def test_handler_several_problems_are_all_named_in_one_failure(dispatcher_stack):
    execution_id = "invalid-request-2"
    body = run_body(execution_id, SQLITE_RECIPE, env={"HOME": "/x", "EXECUTOR_TASK_CPU": "99"}, version="v1")
    report = _reject(dispatcher_stack, body, urn_of(execution_id))
    assert "extra env var HOME: reserved" in report
    assert "CPU 99 is not a Fargate CPU value" in report
    assert "version: 'v1'" in report


def test_handler_oversized_recipe_fails_with_the_limit(dispatcher_stack):
    execution_id = "invalid-request-3"
    huge = '{"source": {"type": "file", "config": {"path": "' + "x" * 1_000_001 + '"}}}'
    report = _reject(dispatcher_stack, run_body(execution_id, huge), urn_of(execution_id))
    assert "larger than the 1000000-byte limit" in report


def test_handler_bad_extra_env_vars_json_fails_with_the_reason(dispatcher_stack):
    execution_id = "invalid-request-4"
    body = run_body(execution_id).replace('"extra_env_vars": "{}"', '"extra_env_vars": "[1, 2]"')
    report = _reject(dispatcher_stack, body, urn_of(execution_id))
    assert "extra_env_vars must be a JSON dict" in report


def test_handler_many_secrets_are_resolved_in_one_listing_then_attached(dispatcher_stack):
    # GIVEN a recipe referencing 13 secrets (more than one ListSecrets name filter holds); 12 exist
    from dispatcher_helpers import PREFIX

    names = [f"KEY_{i:02d}" for i in range(13)]
    for name in names[:12]:
        dispatcher_stack.secretsmanager.create_secret(Name=PREFIX + name, SecretString="v")
    # a secret whose name only starts like a wanted one must not stand in for it
    dispatcher_stack.secretsmanager.create_secret(Name=PREFIX + "KEY_12_OLD", SecretString="v")
    recipe = {"source": {"type": "postgres", "config": {f"k{i}": f"${{{n}}}" for i, n in enumerate(names)}}}
    try:
        # WHEN it runs with KEY_12 missing
        report = _reject(dispatcher_stack, run_body("many-secrets", recipe), urn_of("many-secrets"))

        # THEN the FAILURE names only the missing one
        assert "${KEY_12}" in report and "${KEY_11}" not in report

        # WHEN the secret is created and the run is started again
        dispatcher_stack.secretsmanager.create_secret(Name=PREFIX + "KEY_12", SecretString="v")
        response = dispatcher_stack.invoke(sqs_event(run_body("many-secrets-2", recipe)))

        # THEN it launches on a revision carrying all 13 (and no stand-in)
        assert failed_ids(response) == []
        (task,) = dispatcher_stack.tasks()
        definition = dispatcher_stack.ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])
        attached = {s["name"] for s in definition["taskDefinition"]["containerDefinitions"][0]["secrets"]}
        assert attached == {"DATAHUB_GMS_TOKEN", *names}
    finally:
        for name in [*names, "KEY_12_OLD"]:
            dispatcher_stack.secretsmanager.delete_secret(SecretId=PREFIX + name, ForceDeleteWithoutRecovery=True)


def test_handler_refused_test_connection_is_what_the_ui_modal_shows(dispatcher_stack):
    # GIVEN a UI "Test Connection" whose recipe references a secret that exists in no store
    recipe = {"source": {"type": "postgres", "config": {"password": "${NOT_A_SECRET}"}}}
    body = json.loads(run_body("tc-refused", recipe, task="TEST_CONNECTION"))
    body["aspect"]["source"]["type"] = "MANUAL_TEST_CONNECTION"

    # WHEN the dispatcher refuses it
    dispatcher_stack.invoke(sqs_event(json.dumps(body)))

    # THEN DataHub gets what its own executor writes: SUCCESS with a TEST_CONNECTION internal-failure report
    result = dispatcher_stack.gms.result(urn_of("tc-refused"))
    assert result["status"] == "SUCCESS"
    assert result["structuredReport"]["type"] == "TEST_CONNECTION"
    report = json.loads(result["structuredReport"]["serializedValue"])
    assert report["internal_failure"] is True
    assert "${NOT_A_SECRET}" in report["internal_failure_reason"]
    assert dispatcher_stack.tasks() == []
