"""The long fuzz run of the reconciler: 10,000 hypothesis batches of ECS Task State Change events (issue 10's figures).

The same property test as the suite's tests/unit/reconciler/test_reconciler_fuzz.py (400 batches there):
no crash, a record fails only for a reason a retry can fix, every write is a terminal status that may
replace what DataHub showed, nothing lost. Run through pytest, since the property owns its fixtures.
`python -m bench fuzz_reconciler` (BENCH_FUZZ_BATCHES to change the count).
"""

from __future__ import annotations

import os
import time

from bench.support import REPO_ROOT, project_on_path

DEFAULT_BATCHES = 10_000
TEST = "tests/unit/reconciler/test_reconciler_fuzz.py"


def main() -> None:
    project_on_path()
    import pytest

    count = int(os.environ.get("BENCH_FUZZ_BATCHES", DEFAULT_BATCHES))
    os.environ["RECONCILER_FUZZ_EXAMPLES"] = str(count)
    started = time.perf_counter()
    code = pytest.main([str(REPO_ROOT / TEST), "-q", "-p", "no:randomly", "-p", "no:xdist", "-p", "no:cacheprovider"])
    elapsed = time.perf_counter() - started
    print(f"reconciler fuzz: {count} batches in {elapsed:.1f} s: {'no property violated' if code == 0 else 'FAILED'}")
    if code != 0:
        raise AssertionError(f"reconciler fuzz failed (pytest exit code {int(code)})")
