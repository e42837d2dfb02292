"""Run every benchmark module (`bench/bench_*.py`), or the ones named: `python -m bench runner dispatcher`.

`--quick` (BENCH_QUICK=1) shortens the long ones (fewer samples, a 200-message backlog, the runner's
comparison alone). At the end, issue 13's figures beside their references and goals (bench/summary.py).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path
from typing import Any

from bench.summary import SUMMARISED, print_summary


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if "--quick" in argv:
        os.environ["BENCH_QUICK"] = "1"
    wanted = [f"bench_{a.removeprefix('bench_')}" for a in argv if not a.startswith("-")] or names
    failed = 0
    results: dict[str, Any] = {}
    for name in wanted:
        if name not in names:
            print(f"unknown benchmark {name}; have: {', '.join(names)}")
            return 2
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        try:
            results[name] = importlib.import_module(f"bench.{name}").main()
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            failed += 1
            print(f"{name} failed: {type(exc).__name__}: {exc}")
        print(f"({name}: {time.perf_counter() - started:.1f} s)")
    if set(results) & SUMMARISED:
        print_summary(results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
