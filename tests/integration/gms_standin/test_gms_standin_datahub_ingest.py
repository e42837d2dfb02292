"""A real `datahub ingest` run (sqlalchemy source on a real SQLite file, datahub-rest sink) against the stand-in."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from local_stack.gms_standin import GmsStandIn

DATAHUB_CLI = Path(sys.executable).with_name("datahub")
CUSTOMERS = "urn:li:dataset:(urn:li:dataPlatform:sqlite,main.customers,PROD)"
ORDERS = "urn:li:dataset:(urn:li:dataPlatform:sqlite,main.orders,PROD)"


def _ingest(recipe: dict, tmp_path: Path, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    recipe_file = tmp_path / "recipe.json"
    recipe_file.write_text(json.dumps(recipe))
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "DATAHUB_TELEMETRY_ENABLED": "false"}
    env.update(extra_env or {})
    return subprocess.run(
        [str(DATAHUB_CLI), "ingest", "-c", str(recipe_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _source(sqlite_db: Path) -> dict:
    return {"type": "sqlalchemy", "config": {"platform": "sqlite", "connect_uri": f"sqlite:///{sqlite_db}"}}


def test_datahub_ingest_with_rest_sink_lands_the_tables_in_the_standin(
    gms_standin: GmsStandIn, sqlite_db: Path, tmp_path: Path
) -> None:
    # GIVEN a recipe whose datahub-rest sink points at the stand-in
    recipe = {
        "source": _source(sqlite_db),
        "sink": {"type": "datahub-rest", "config": {"server": gms_standin.url, "token": gms_standin.token}},
    }

    # WHEN the real CLI runs it
    run = _ingest(recipe, tmp_path)

    # THEN it succeeds and the stand-in holds both tables with their schemas
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert gms_standin.aspect(CUSTOMERS, "datasetProperties")["name"] == "customers"
    fields = [f["fieldPath"] for f in gms_standin.aspect(CUSTOMERS, "schemaMetadata")["fields"]]
    assert fields == ["id", "name", "email"]
    assert "schemaMetadata" in gms_standin.aspects(ORDERS)
    batches = gms_standin.requests_to("/aspects", "ingestProposalBatch")
    assert batches and all(r["status"] == 200 for r in batches)
    assert all(r["authenticated"] for r in gms_standin.requests)


def test_datahub_ingest_without_sink_uses_the_gms_env_vars(
    gms_standin: GmsStandIn, sqlite_db: Path, tmp_path: Path
) -> None:
    run = _ingest(
        {"source": _source(sqlite_db)},
        tmp_path,
        {"DATAHUB_GMS_URL": gms_standin.url, "DATAHUB_GMS_TOKEN": gms_standin.token},
    )

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert gms_standin.aspect(ORDERS, "datasetProperties")["name"] == "orders"


def test_datahub_ingest_with_wrong_token_fails_loudly(gms_standin: GmsStandIn, sqlite_db: Path, tmp_path: Path) -> None:
    recipe = {
        "source": _source(sqlite_db),
        "sink": {"type": "datahub-rest", "config": {"server": gms_standin.url, "token": "wrong"}},
    }

    run = _ingest(recipe, tmp_path)

    # GMS serves /config without authentication, so the sink starts; every write is then refused with 401
    assert run.returncode != 0
    assert "Pipeline finished with at least" in run.stdout + run.stderr
    assert "401" in run.stdout + run.stderr
    assert gms_standin.proposals == 0
    assert {r["status"] for r in gms_standin.requests_to("/config")} == {200}
    writes = gms_standin.requests_to("/aspects", action="ingestProposalBatch") + gms_standin.requests_to("/aspects")
    assert writes and {r["status"] for r in writes} == {401}


def test_datahub_ingest_stateful_second_run_soft_deletes_a_dropped_table(
    gms_standin: GmsStandIn, sqlite_db: Path, tmp_path: Path
) -> None:
    # GIVEN a stateful recipe that already ran once (its checkpoint lives in the stand-in)
    source = _source(sqlite_db)
    source["config"]["stateful_ingestion"] = {"enabled": True, "remove_stale_metadata": True}
    recipe = {
        "pipeline_name": "gms-standin-stateful",
        "source": source,
        "sink": {"type": "datahub-rest", "config": {"server": gms_standin.url, "token": gms_standin.token}},
    }
    first = _ingest(recipe, tmp_path)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]

    # WHEN a table is dropped and the recipe runs again
    with sqlite3.connect(sqlite_db) as db:
        db.execute("DROP TABLE orders")
    second = _ingest(recipe, tmp_path)

    # THEN the second run read the first run's checkpoint back and soft-deleted the stale table
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    lookups = gms_standin.requests_to("/aspects", "getTimeseriesAspectValues")
    assert lookups and all(r["status"] == 200 for r in lookups)
    assert gms_standin.store.history(ORDERS, "status") == [{"removed": False}, {"removed": True}]
    assert gms_standin.aspect(CUSTOMERS, "status") == {"removed": False}
