"""Hostile and odd requests through the handler: SQS event in, DataHub (the stand-in) and ECS (moto) checked.

Issues 10 (items 1-3, 11, 13) and 11 (items 5-7): each attack ends in a FAILURE naming the
problem and launches nothing; what DataHub's UI legitimately sends launches; messages that
are not ours, or not work we do, get nothing written.
"""

from __future__ import annotations

import json

import pytest
from dispatcher_helpers import SQLITE_RECIPE, env_of, failed_ids, kill_body, run_body, sqs_event, urn_of


def _failure_report(stack, body: str, urn: str) -> str:
    response = stack.invoke(sqs_event(body))
    assert failed_ids(response) == []
    assert stack.tasks() == []
    result = stack.gms.result(urn)
    assert result is not None and result["status"] == "FAILURE"
    return result["report"]


def _args_body(execution_id: str, **args: str) -> str:
    body = json.loads(run_body(execution_id, SQLITE_RECIPE))
    body["aspect"]["args"].update(args)
    return json.dumps(body)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"RUNNER_CHILD_COMMAND": '["sh", "-c", "id"]'}, "RUNNER_CHILD_COMMAND"),
        ({"runner_child_command": '["sh"]'}, "runner_child_command"),
        ({"DATAHUB_GMS_HOST": "elsewhere"}, "DATAHUB_GMS_HOST"),
        ({"PIP_INDEX_URL": "http://foreign.example/simple"}, "PIP_INDEX_URL"),
        ({"https_proxy": "http://foreign.example:3128"}, "https_proxy"),
        ({"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://foreign.example"}, "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
    ],
)
def test_handler_reserved_extra_env_var_is_a_failure_naming_it(dispatcher_stack, env, named):
    execution_id = "hostile-env-" + named.lower().replace("_", "-")[:20]
    report = _failure_report(dispatcher_stack, run_body(execution_id, SQLITE_RECIPE, env=env), urn_of(execution_id))
    assert f"extra env var {named}: reserved" in report


@pytest.mark.parametrize("spelling", ["$DATAHUB_GMS_TOKEN", "${DATAHUB_GMS_TOKEN:-x}", "$datahub_gms_token"])
def test_handler_recipe_reading_the_gms_token_is_a_failure(dispatcher_stack, spelling):
    recipe = {**SQLITE_RECIPE, "sink": {"type": "datahub-rest", "config": {"server": "http://x", "token": spelling}}}
    report = _failure_report(dispatcher_stack, run_body("hostile-ref", recipe), urn_of("hostile-ref"))
    assert "refers to $" in report and "DATAHUB_GMS_TOKEN" in report.upper()


def test_handler_pip_option_is_a_failure(dispatcher_stack):
    body = _args_body("hostile-pip", extra_pip_requirements=json.dumps(["--extra-index-url=http://foreign.example"]))
    report = _failure_report(dispatcher_stack, body, urn_of("hostile-pip"))
    assert "installer option" in report


def test_handler_redos_version_is_a_quick_failure(dispatcher_stack):
    body = run_body("hostile-version", SQLITE_RECIPE, version="1.0" + "a" * 60 + "!")
    report = _failure_report(dispatcher_stack, body, urn_of("hostile-version"))
    assert "is not a DataHub CLI version" in report


def test_handler_ui_versions_and_other_executors_settings_launch(dispatcher_stack):
    # GIVEN what deployments send: a v-prefixed CLI version and a hosted executor's per-source setting
    env = {"EXECUTOR_TASK_WEIGHT": "2", "AWS_DEFAULT_REGION": "eu-west-1"}
    response = dispatcher_stack.invoke(sqs_event(run_body("ui-version", SQLITE_RECIPE, env=env, version="v1.6.0")))

    # THEN the run launches with the version the runner understands and without the foreign setting
    assert failed_ids(response) == []
    [task] = dispatcher_stack.tasks()
    spec = json.loads(env_of(task)["EXECUTOR_RUN_SPEC"])
    assert spec["version"] == "1.6.0"
    assert (
        "EXECUTOR_TASK_WEIGHT" not in spec["extra_env_vars"]
        and spec["extra_env_vars"]["AWS_DEFAULT_REGION"] == "eu-west-1"
    )
    # AND the RUNNING report tells the admin that the other executor's setting was ignored
    running = dispatcher_stack.gms.result(urn_of("ui-version"))
    assert running["status"] == "RUNNING"
    assert "Note:" in running["report"] and "EXECUTOR_TASK_WEIGHT" in running["report"]


def test_handler_deeply_nested_message_gets_a_failure_not_a_crash(dispatcher_stack):
    body = run_body("deep-nesting").replace('"executorId"', '"x": ' + "[" * 5000 + "]" * 5000 + ', "executorId"', 1)
    report = _failure_report(dispatcher_stack, body, urn_of("deep-nesting"))
    assert "does not match the contract" in report


def test_handler_huge_number_does_not_hide_the_urn(dispatcher_stack):
    body = run_body("huge-number").replace('"executorId"', '"x": ' + "9" * 5000 + ', "executorId"', 1)
    report = _failure_report(dispatcher_stack, body, urn_of("huge-number"))
    assert "number" in report


@pytest.mark.parametrize(
    "body",
    [
        run_body("foreign-deep", executor_id="default").replace(
            '"executorId"', '"x": ' + "[" * 5000 + "]" * 5000 + ', "executorId"', 1
        ),
        run_body("foreign-deep", executor_id="default").replace('"RUN_INGEST"', "42"),
        run_body("foreign-deep", task="ASSERTION_MONITOR"),
    ],
    ids=["malformed-foreign", "wrong-type-foreign", "unknown-task"],
)
def test_handler_messages_not_ours_or_not_our_work_get_nothing(dispatcher_stack, body):
    response = dispatcher_stack.invoke(sqs_event(body))
    assert failed_ids(response) == []
    assert dispatcher_stack.tasks() == []
    assert dispatcher_stack.gms.history(urn_of("foreign-deep")) == []


def test_handler_kill_without_executor_id_for_a_run_we_do_not_run_writes_nothing(dispatcher_stack):
    body = json.loads(kill_body("not-ours-kill"))
    del body["aspect"]["executorId"]
    response = dispatcher_stack.invoke(sqs_event(json.dumps(body)))
    assert failed_ids(response) == []
    assert dispatcher_stack.gms.history(urn_of("not-ours-kill")) == []


def test_handler_kill_without_executor_id_stops_our_running_task(dispatcher_stack):
    # GIVEN a run this stack launched
    dispatcher_stack.invoke(sqs_event(run_body("ours-kill", SQLITE_RECIPE)))
    assert len(dispatcher_stack.tasks()) == 1
    body = json.loads(kill_body("ours-kill"))
    del body["aspect"]["executorId"]

    # WHEN a cancel without executorId arrives
    response = dispatcher_stack.invoke(sqs_event(json.dumps(body)))

    # THEN the task is stopped
    assert failed_ids(response) == []
    assert any("Stopped the run's task" in r.get("message", "") for r in dispatcher_stack.log_records())


def test_handler_extra_pip_plugins_from_the_ui_reach_the_runner_in_the_spec(dispatcher_stack):
    # GIVEN a source whose "Extra DataHub plugins" lists two extras of acryl-datahub
    body = _args_body("ui-plugins", extra_pip_plugins=json.dumps(["datahub-rest", "sql-parser"]))

    # WHEN the dispatcher launches it
    response = dispatcher_stack.invoke(sqs_event(body))

    # THEN the run spec carries them for the runner to install as acryl-datahub[<source>,<plugins>]
    assert failed_ids(response) == []
    [task] = dispatcher_stack.tasks()
    assert json.loads(env_of(task)["EXECUTOR_RUN_SPEC"])["extra_pip_plugins"] == ["datahub-rest", "sql-parser"]
