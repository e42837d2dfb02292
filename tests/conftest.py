"""Fixtures every test layer shares. Sample events come from events/, never a second copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = REPO_ROOT / "events"


def load_event(name: str) -> dict[str, Any]:
    """One of the sample events in events/ (the same JSON `sam local invoke -e` and `make invoke` use)."""
    return json.loads((EVENTS_DIR / name).read_text())


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def gms_standin():
    """A started DataHub GMS stand-in (local_stack.gms_standin.GmsStandIn), stopped after the test."""
    from local_stack.gms_standin import GmsStandIn

    standin = GmsStandIn().start()
    try:
        yield standin
    finally:
        standin.stop()
