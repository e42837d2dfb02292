"""The template under test, parsed once per session."""

from __future__ import annotations

from typing import Any

import pytest
from sam_template import load_template


@pytest.fixture
def template() -> dict[str, Any]:
    return load_template()
