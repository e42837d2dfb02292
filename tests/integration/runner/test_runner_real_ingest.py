"""The runner around a real `datahub ingest` on a real SQLite database, reporting to the GMS stand-in."""

from __future__ import annotations

import json

from runner_harness import make_spec

from local_stack.commands import sqlite_recipe


def test_runner_sqlite_ingestion_reports_success_with_structured_report(runner, gms_standin, sqlite_db):
    # GIVEN a real SQLite database and a recipe with no sink (the default datahub-rest sink to GMS)
    spec = make_spec("sqlite-run-1", sqlite_recipe(str(sqlite_db), pipeline_name="sqlite-shop"))

    # WHEN the runner runs it
    result = runner.run(spec)

    # THEN DataHub saw RUNNING, then SUCCESS with the structured report of the real run
    assert result.returncode == 0, result.stderr
    urn = spec.execution_request_urn
    statuses = gms_standin.statuses(urn)
    assert statuses[0] == "RUNNING" and statuses[-1] == "SUCCESS"
    assert set(statuses[:-1]) == {"RUNNING"}
    final = gms_standin.result(urn)
    assert final["structuredReport"]["type"] == "RUN_INGEST"
    assert final["structuredReport"]["contentType"] == "application/json"
    structured = json.loads(final["structuredReport"]["serializedValue"])
    assert structured["source"]["type"] == "sqlalchemy"
    assert final["durationMs"] > 0 and final["startTimeMs"] > 0
    # AND the report follows DataHub's layout
    report = final["report"]
    assert report.index("~~~~ Execution Summary - RUN_INGEST ~~~~") < report.index("~~~~ Ingestion Report ~~~~")
    assert report.index("~~~~ Ingestion Report ~~~~") < report.index("~~~~ Ingestion Logs ~~~~")
    assert "Execution finished successfully!" in report
    # AND the metadata landed in GMS, tagged with run_id = the execution id
    datasets = [u for u in gms_standin.urns("dataset") if "customers" in u]
    assert datasets, gms_standin.urns()
    batches = gms_standin.requests_to("/aspects", "ingestProposalBatch")
    run_ids = {p.get("systemMetadata", {}).get("runId") for b in batches for p in b["body"]["proposals"]}
    assert run_ids == {"sqlite-run-1"}
    # AND the full report went to stdout too
    assert "===== final report =====" in result.stdout


def test_runner_test_connection_resolves_secret_from_envelope_and_masks_it(runner, gms_standin, sqlite_db):
    # GIVEN a TEST_CONNECTION whose connect_uri only works when the CLI resolves ${SHOP_DB} from the envelope
    recipe = sqlite_recipe("${SHOP_DB}", pipeline_name="sqlite-shop")
    spec = make_spec("sqlite-test-1", recipe, task="TEST_CONNECTION", secret_names=["SHOP_DB"])

    result = runner.run(spec, {"SHOP_DB": str(sqlite_db)})

    # THEN the connection test succeeded (the secret was resolved) ...
    assert result.returncode == 0, result.stderr
    final = gms_standin.result(spec.execution_request_urn)
    assert final["status"] == "SUCCESS"
    assert final["structuredReport"]["type"] == "TEST_CONNECTION"
    connection = json.loads(final["structuredReport"]["serializedValue"])
    assert connection["basic_connectivity"]["capable"] is True
    # ... and its value appears nowhere we wrote
    everything = result.stdout + result.stderr + json.dumps([r["body"] for r in gms_standin.requests])
    assert str(sqlite_db) not in everything
