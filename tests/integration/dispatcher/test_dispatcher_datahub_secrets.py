"""DataHub's secret store (DataHubSecretStore=Enabled): per name, Secrets Manager first, the rest left to the runner.

The dispatcher never reads a value from DataHub: it attaches what Secrets Manager has (ARNs in the
derived task definition) and lists the other names in the run spec, for the runner to read.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from dispatcher_helpers import PG_PASSWORD_VALUE, PREFIX, run_body, sqs_event, urn_of

#: Held in the stand-in's DataHub secret store: must never reach overrides, logs or any request.
DATAHUB_CANARY = "canary-datahub-store-9b1e44"
RECIPE = {
    "source": {
        "type": "postgres",
        "config": {
            "host_port": "db:5432",
            "username": "${DH_USER}",
            "password": "${PG_PASSWORD}",
            "options": {"connect_args": {"sslkey": "${DH_SSL_KEY}"}},
        },
    }
}


@pytest.fixture
def datahub_store_on(dispatcher_stack: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from dispatcher.handler import dependencies
    from dispatcher.settings import get_settings

    monkeypatch.setenv("DATAHUB_SECRET_STORE_ENABLED", "true")
    get_settings.cache_clear()
    dependencies.cache_clear()
    dispatcher_stack.gms.secrets.update({"DH_USER": DATAHUB_CANARY, "DH_SSL_KEY": DATAHUB_CANARY + "-key"})
    return dispatcher_stack


def _spec_of(task: dict[str, Any]) -> dict[str, Any]:
    (container,) = task["overrides"]["containerOverrides"]
    env = {e["name"]: e["value"] for e in container["environment"]}
    return json.loads(env["EXECUTOR_RUN_SPEC"])


def test_dispatcher_names_not_in_secrets_manager_go_to_the_runner_by_name_only(datahub_store_on: Any, capsys) -> None:
    # GIVEN a recipe with one Secrets Manager secret and two that only DataHub's store holds
    stack = datahub_store_on

    # WHEN the dispatcher handles the run
    response = stack.invoke(sqs_event(run_body("dh-secrets", RECIPE)))

    # THEN one task is launched: Secrets Manager's secret attached by ARN, the others named in the spec
    assert response == {"batchItemFailures": []}
    (task,) = stack.tasks()
    spec = _spec_of(task)
    assert spec["secret_names"] == ["PG_PASSWORD"]
    assert spec["datahub_secret_names"] == ["DH_SSL_KEY", "DH_USER"]
    assert spec["secret_name_prefix"] == PREFIX
    definition = stack.ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
    attached = {s["name"] for s in definition["containerDefinitions"][0]["secrets"]}
    assert attached == {"DATAHUB_GMS_TOKEN", "PG_PASSWORD"}
    # AND the dispatcher never asked DataHub for a secret value
    assert stack.gms.requests_to("/api/graphql") == []
    assert stack.gms.result(urn_of("dh-secrets"))["status"] == "RUNNING"
    # AND no value of either store is in the overrides, the logs or anything sent to DataHub
    overrides = json.dumps(task["overrides"])
    logs = stack.logs() + capsys.readouterr().out
    sent = json.dumps([r["body"] for r in stack.gms.requests])
    for needle in (DATAHUB_CANARY, PG_PASSWORD_VALUE):
        assert needle not in overrides
        assert needle not in logs
        assert needle not in sent


def test_dispatcher_with_datahub_store_off_fails_a_missing_name_before_launch(dispatcher_stack: Any) -> None:
    # GIVEN DataHubSecretStore=Disabled (the fixture's setting) and a name only DataHub's store holds
    dispatcher_stack.gms.secrets["DH_USER"] = DATAHUB_CANARY

    dispatcher_stack.invoke(sqs_event(run_body("dh-off", RECIPE)))

    # THEN FAILURE at once, naming the secret and saying DataHub's store is off; nothing launched
    result = dispatcher_stack.gms.result(urn_of("dh-off"))
    assert result["status"] == "FAILURE"
    assert "${DH_USER}" in result["report"]
    assert "DataHubSecretStore" in result["report"]
    assert dispatcher_stack.tasks() == []
    assert dispatcher_stack.gms.requests_to("/api/graphql") == []
