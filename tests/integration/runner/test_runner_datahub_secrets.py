"""Secrets from DataHub's own store (Settings -> Secrets): the real runner reads the spec's `datahub_secret_names`
from the GMS stand-in with GraphQL getSecretValues, masks them, and gives them to the child on stdin only."""

from __future__ import annotations

import json

import pytest
from datahub.ingestion.api.source import TestConnectionReport as ConnectionReport
from runner_harness import TOKEN, child, make_spec

SM_CANARY = "c4n4ry-secrets-manager-51d0"
DH_CANARY = "c4n4ry-datahub-store-a7f2"
DH_MULTILINE = "-----BEGIN KEY-----\ndh-line-one-3c9e\ndh-line-two-77b1\n-----END KEY-----"
RECIPE = {
    "source": {
        "type": "file",
        "config": {"path": "/dev/null", "password": "${DB_PASSWORD}", "user": "${DH_USER}", "key": "${DH_KEY}"},
    }
}


def _spec(execution_id: str, **fields):
    return make_spec(
        execution_id,
        RECIPE,
        secret_names=["DB_PASSWORD"],
        datahub_secret_names=["DH_KEY", "DH_USER"],
        secret_name_prefix="datahub-executor/",
        **fields,
    )


def test_runner_reads_datahub_store_secrets_masks_them_and_keeps_them_off_the_environment(
    runner, gms_standin, tmp_path
):
    # GIVEN one secret injected by ECS (Secrets Manager) and two held in DataHub's secret store
    gms_standin.secrets.update({"DH_USER": DH_CANARY, "DH_KEY": DH_MULTILINE, "UNRELATED": "not-asked-for"})
    spec = _spec("dh-secrets-1")

    # WHEN the runner runs a child that prints every secret of its stdin envelope and its environment
    result = runner.run(spec, {"DB_PASSWORD": SM_CANARY}, child=child("leaky.py", "{report_file}"))

    # THEN the child got all three on stdin (it printed them, masked) and the run succeeded
    assert result.returncode == 0, result.stderr
    assert gms_standin.result(spec.execution_request_urn)["status"] == "SUCCESS"
    for name in ("DB_PASSWORD", "DH_USER", "DH_KEY"):
        assert f"password for {name} is ********" in result.stdout
    # AND DataHub was asked once, for exactly the spec's names, with the query DataHub's own executor sends
    (graphql,) = gms_standin.requests_to("/api/graphql")
    assert graphql["body"]["variables"] == {"input": {"secrets": ["DH_KEY", "DH_USER"]}}
    assert graphql["body"]["query"] == _datahub_secrets_client_body(gms_standin)["query"]
    # AND no value shows in stdout, stderr, any request DataHub received, or any file left behind
    sent = json.dumps([r["body"] for r in gms_standin.requests])
    files = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    for value in (SM_CANARY, DH_CANARY, "dh-line-one-3c9e", "dh-line-two-77b1", TOKEN):
        assert value not in result.stdout
        assert value not in result.stderr
        assert value not in sent
        assert value not in files
    # AND the child's environment holds none of them
    env_line = next(line for line in result.stdout.splitlines() if line.startswith("my environment:"))
    assert not {"DB_PASSWORD", "DH_USER", "DH_KEY"} & set(json.loads(env_line.removeprefix("my environment:")))


def _datahub_secrets_client_body(gms_standin) -> dict:
    """What DataHub's own DataHubSecretsClient sends to the same stand-in (recorded there)."""
    from datahub.ingestion.graph.client import DatahubClientConfig, DataHubGraph
    from datahub.secret.datahub_secrets_client import DataHubSecretsClient

    with DataHubGraph(DatahubClientConfig(server=gms_standin.url, token=gms_standin.token)) as graph:
        DataHubSecretsClient(graph).get_secret_values(["DH_KEY", "DH_USER"])
    return gms_standin.requests_to("/api/graphql")[-1]["body"]


@pytest.mark.parametrize("task", ["RUN_INGEST", "TEST_CONNECTION"])
def test_runner_secret_in_neither_store_fails_naming_both_places(runner, gms_standin, task):
    # GIVEN DataHub's store holds DH_USER but not DH_KEY (and Secrets Manager had neither)
    gms_standin.secrets["DH_USER"] = DH_CANARY
    spec = _spec(f"dh-missing-{task.lower()}", task=task)

    result = runner.run(spec, {"DB_PASSWORD": SM_CANARY}, timeout=60, child=child("exit_code.py", "0"))

    # THEN the run never starts the child and DataHub shows a reason naming the secret and both places
    final = gms_standin.result(spec.execution_request_urn)
    if task == "RUN_INGEST":
        assert result.returncode == 1
        assert final["status"] == "FAILURE"
        reason = final["report"]
    else:  # what DataHub's test-connection modal shows
        assert final["status"] == "SUCCESS"
        report = ConnectionReport(**json.loads(final["structuredReport"]["serializedValue"]))
        assert report.internal_failure is True
        reason = report.internal_failure_reason or ""
    assert "${DH_KEY}" in reason
    assert "'datahub-executor/DH_KEY' in Secrets Manager" in reason
    assert "DataHub's secret store" in reason
    assert "${DH_USER}" not in reason  # found in DataHub: not missing
    assert DH_CANARY not in json.dumps(gms_standin.history(spec.execution_request_urn)) + result.stdout + result.stderr


def test_runner_with_datahub_store_off_never_asks_datahub(runner, gms_standin):
    # GIVEN the stack turned DataHub's store off, and a spec that still names DataHub secrets
    gms_standin.secrets.update({"DH_USER": DH_CANARY, "DH_KEY": DH_CANARY})
    spec = _spec("dh-off")

    result = runner.run(
        spec, {"DB_PASSWORD": SM_CANARY, "DATAHUB_SECRET_STORE_ENABLED": "false"}, child=child("exit_code.py", "0")
    )

    # THEN FAILURE naming the secrets, and no getSecretValues request at all
    assert result.returncode == 1
    final = gms_standin.result(spec.execution_request_urn)
    assert final["status"] == "FAILURE"
    assert "${DH_KEY}" in final["report"] and "turned off" in final["report"]
    assert gms_standin.requests_to("/api/graphql") == []
