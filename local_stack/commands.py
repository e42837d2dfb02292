"""Commands as DataHub puts them on the queue, and the small SQLite "private source" the demo ingests.

The envelopes are exactly the queue contract in docs/architecture.md (`dataHubExecutionRequestInput` /
`dataHubExecutionRequestSignal` aspects); every `args` value is a string, as DataHub sends it.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from executor_common.contract import EXECUTION_REQUEST_URN_PREFIX, INPUT_ASPECT, SIGNAL_ASPECT

ACTOR = "urn:li:corpuser:datahub"
DATAHUB_VERSION = "1.7.0.17"


def new_execution_urn(prefix: str = "local") -> str:
    return f"{EXECUTION_REQUEST_URN_PREFIX}{prefix}-{uuid.uuid4()}"


def run_command(
    urn: str,
    recipe: dict[str, Any],
    *,
    extra_env_vars: dict[str, str] | None = None,
    executor_id: str = "remote",
    ingestion_source: str | None = "urn:li:dataHubIngestionSource:local-demo",
    task: str = "RUN_INGEST",
) -> dict[str, Any]:
    """A RUN_INGEST (or TEST_CONNECTION) request, as DataHub's UI creates it."""
    return {
        "entityUrn": urn,
        "aspectName": INPUT_ASPECT,
        "aspect": {
            "task": task,
            "args": {
                "recipe": json.dumps(recipe),
                "version": DATAHUB_VERSION,
                "debug_mode": "false",
                "extra_env_vars": json.dumps(extra_env_vars or {}),
                "extra_pip_requirements": "[]",
            },
            "executorId": executor_id,
            "source": {"type": "MANUAL_INGESTION_SOURCE", "ingestionSource": ingestion_source},
            "requestedAt": int(time.time() * 1000),
            "actorUrn": ACTOR,
        },
    }


def kill_command(urn: str, executor_id: str = "remote") -> dict[str, Any]:
    """The cancel signal DataHub writes when a user clicks Cancel."""
    return {
        "entityUrn": urn,
        "aspectName": SIGNAL_ASPECT,
        "aspect": {
            "signal": "KILL",
            "executorId": executor_id,
            "createdAt": {"time": int(time.time() * 1000), "actor": ACTOR},
        },
    }


def sqlite_recipe(db_path_reference: str, *, pipeline_name: str = "local-demo", **config: Any) -> dict[str, Any]:
    """A recipe for the `sqlalchemy` source on SQLite; `db_path_reference` may be a `${SECRET}` reference.

    No sink: the runner's child then writes to DATAHUB_GMS_URL with DATAHUB_GMS_TOKEN (the stand-in).
    """
    return {
        "pipeline_name": pipeline_name,
        "source": {
            "type": "sqlalchemy",
            "config": {
                "platform": "sqlite",
                "connect_uri": f"sqlite:///{db_path_reference}",
                "include_views": False,
                "profiling": {"enabled": False},
                **config,
            },
        },
    }


def create_sqlite_db(path: Path, tables: int = 3, rows: int = 5) -> Path:
    """A small source database: `customers`, `orders` (with a named foreign key) and `table_N` extras.

    The foreign key is named on purpose: acryl-datahub 1.7 crashes on an unnamed SQLite foreign key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT)")
        db.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, amount REAL,"
            " CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id))"
        )
        db.executemany(
            "INSERT INTO customers (id, name, email) VALUES (?, ?, ?)",
            [(i, f"customer {i}", f"c{i}@example.com") for i in range(rows)],
        )
        db.executemany(
            "INSERT INTO orders (id, customer_id, amount) VALUES (?, ?, ?)", [(i, i, 10.0 * i) for i in range(rows)]
        )
        for index in range(max(0, tables - 2)):
            db.execute(f"CREATE TABLE table_{index} (id INTEGER PRIMARY KEY, label TEXT, value REAL)")
    return path
