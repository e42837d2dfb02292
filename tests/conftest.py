"""Fixtures every test layer shares. Sample events come from events/, never a second copy."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

#: moto answers like AWS in every test (local_stack/aws_fidelity.py).
pytest_plugins = ["tests.support.moto_fidelity"]

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = REPO_ROOT / "events"


def load_event(name: str) -> dict[str, Any]:
    """One of the sample events in events/ (the same JSON `sam local invoke -e` and `make invoke` use)."""
    return json.loads((EVENTS_DIR / name).read_text())


def unused_local_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (the OS picked it free and it was released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    """A small real SQLite database: `customers` and `orders`, joined by a named foreign key (the demo's source)."""
    from local_stack.commands import create_sqlite_db

    return create_sqlite_db(tmp_path / "shop.db", tables=2)


@pytest.fixture
def gms_standin():
    """A started DataHub GMS stand-in (local_stack.gms_standin.GmsStandIn), stopped after the test."""
    from local_stack.gms_standin import GmsStandIn

    standin = GmsStandIn().start()
    try:
        yield standin
    finally:
        standin.stop()
