"""Fixtures for the runner's integration tests (helpers live in runner_harness.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from runner_harness import RunnerEnv


@pytest.fixture
def runner(gms_standin: Any, tmp_path: Path) -> Iterator[RunnerEnv]:
    yield RunnerEnv(gms_url=gms_standin.url, work_dir=tmp_path)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Callable[[], Path]:
    """A small real SQLite database (named foreign key: DataHub crashes on unnamed ones)."""

    def build() -> Path:
        path = tmp_path / "shop.db"
        with sqlite3.connect(path) as db:
            db.executescript(
                """
                CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);
                CREATE TABLE orders (
                    id INTEGER PRIMARY KEY, customer_id INTEGER, total REAL,
                    CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
                );
                INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com');
                INSERT INTO orders VALUES (1, 1, 9.5);
                """
            )
        return path

    return build
