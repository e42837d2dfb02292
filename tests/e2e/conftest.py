"""The local stack, started once per e2e module (startup costs ~10 s), plus the small SQLite source."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import E2E_SECRET


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    from local_stack.stack import LocalStack

    local = LocalStack(log_level="ERROR").start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def source_db(stack: Any) -> Path:
    """A SQLite "private source" whose path the recipes read from secret `datahub-executor/E2E_DB_PATH`."""
    from local_stack.commands import create_sqlite_db

    db_path = create_sqlite_db(stack.state_dir / "source" / "e2e.db")
    stack.aws.client("secretsmanager").create_secret(Name=f"datahub-executor/{E2E_SECRET}", SecretString=str(db_path))
    return db_path
