"""What the long benchmark runs share: the project's folders on sys.path and hypothesis settings for long runs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def project_on_path() -> None:
    """Make the functions, the runner, the forwarder and the tests importable when run from a plain checkout."""
    for path in (REPO_ROOT / "functions", REPO_ROOT / "runner", REPO_ROOT / "forwarder", REPO_ROOT):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def long_fuzz_settings(count: int) -> Callable[[Any], Any]:
    """`count` generated examples, no shrinking, no deadline and no example database: a measurement, not a search."""
    from hypothesis import HealthCheck, Phase, settings

    return settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
