"""Correlation ids, metrics, and secrets never in overrides, logs or DataHub.

Dispatcher behaviour 9 in docs/architecture.md (and the canary).
"""

from __future__ import annotations

import json

from dispatcher_helpers import GMS_TOKEN_VALUE, PG_PASSWORD_VALUE, failed_ids, run_body, sqs_event, urn_of

from tests.conftest import load_event

LITERAL_CREDENTIAL = "canary-literal-recipe-password-91c7"


def test_handler_mixed_batch_handles_each_record_on_its_own(dispatcher_stack):
    # GIVEN events/mixed_batch.json: valid + malformed + misrouted + unknown secret
    event = load_event("mixed_batch.json")

    response = dispatcher_stack.invoke(event)

    # THEN nothing comes back, one task is launched, and each record got its own verdict
    assert failed_ids(response) == []
    (task,) = dispatcher_stack.tasks()
    assert task["startedBy"] == "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"
    assert dispatcher_stack.gms.result(urn_of("1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"))["status"] == "RUNNING"
    assert dispatcher_stack.gms.history(urn_of("2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f")) == []  # misrouted
    assert dispatcher_stack.gms.result(urn_of("4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8"))["status"] == "FAILURE"


def test_handler_logs_are_json_with_the_execution_request_urn_as_correlation_id(dispatcher_stack):
    dispatcher_stack.invoke(load_event("run_ingest.json"))

    launched = [r for r in dispatcher_stack.log_records() if r["message"] == "Run launched"]
    assert launched and launched[0]["correlation_id"] == urn_of("3f1c2a9e-8d7b-4e6a-b5c4-1a2b3c4d5e6f")
    assert launched[0]["service"] == "dispatcher"


def test_handler_emits_one_metric_per_outcome(dispatcher_stack, capsys):
    capsys.readouterr()
    dispatcher_stack.invoke(load_event("mixed_batch.json"))

    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf, "log_metrics flushed no EMF document"
    (document,) = emf
    names = {m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    # QueueWaitSeconds (issue 15): how long the launched request waited in the queue, from its SentTimestamp.
    assert names == {"RunsLaunched", "RunsRejected", "MisroutedMessages", "QueueWaitSeconds"}
    waited = document["QueueWaitSeconds"]
    assert (waited[0] if isinstance(waited, list) else waited) > 0
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "DataHubRemoteExecutor"
    assert document["RunsRejected"] in (2, 2.0, [1.0, 1.0])


def test_secret_values_and_arns_never_reach_overrides_logs_or_datahub(dispatcher_stack, capsys):
    # GIVEN runs whose recipes use a Secrets Manager secret AND embed a literal credential (people do this)
    recipe = {
        "source": {
            "type": "postgres",
            "config": {"host_port": "db:5432", "username": "u", "password": "${PG_PASSWORD}"},
        },
        "sink": {"type": "datahub-rest", "config": {"server": "http://gms", "token": LITERAL_CREDENTIAL}},
    }
    bad = dict(recipe, source={"type": "postgres", "config": {"password": "${NOPE}", "x": LITERAL_CREDENTIAL}})
    event = sqs_event(
        run_body("canary-ok", recipe),
        run_body("canary-missing-secret", bad),
        run_body("canary-bad-env", recipe, env={"AWS_SECRET_ACCESS_KEY": LITERAL_CREDENTIAL}),
        json.dumps(
            {
                "entityUrn": urn_of("canary-shape"),
                "aspectName": "dataHubExecutionRequestInput",
                "aspect": {"args": {"recipe": json.dumps(recipe)}, "task": "RUN_INGEST", "executorId": "remote"},
            }
        ),
    )
    for load in ("run_ingest.json", "large_recipe.json"):
        event["Records"].extend(load_event(load)["Records"])

    response = dispatcher_stack.invoke(event)
    assert failed_ids(response) == []

    secret_values = [PG_PASSWORD_VALUE, GMS_TOKEN_VALUE]
    secret_arns = list(dispatcher_stack.secret_arns.values())
    # THEN no RunTask override carries a secret value or a secret ARN
    tasks = dispatcher_stack.tasks()
    assert len(tasks) == 3
    overrides = json.dumps([t["overrides"] for t in tasks])
    for needle in secret_values + secret_arns:
        assert needle not in overrides
    # AND no log line carries a secret value, a secret ARN, or the recipe's literal credential
    logs = dispatcher_stack.logs() + capsys.readouterr().out
    for needle in [*secret_values, *secret_arns, LITERAL_CREDENTIAL]:
        assert needle not in logs
    # AND nothing sent to DataHub carries them either
    sent = json.dumps([r["body"] for r in dispatcher_stack.gms.requests])
    for needle in [*secret_values, *secret_arns, LITERAL_CREDENTIAL]:
        assert needle not in sent
    assert dispatcher_stack.gms.result(urn_of("canary-missing-secret"))["status"] == "FAILURE"
    assert dispatcher_stack.gms.result(urn_of("canary-bad-env"))["status"] == "FAILURE"
    assert dispatcher_stack.gms.result(urn_of("canary-shape"))["status"] == "FAILURE"
