"""The long fuzz run of the dispatcher handler: 10,000+ hypothesis SQS batches (issue 10's figures).

Same strategies, fakes and invariants as tests/unit/fuzz/test_fuzz_dispatcher.py (which runs 200):
no crash, no poisoned batch, no silent drop. Prints the counts for the closing notes and fails
when any invariant was violated. `python -m bench fuzz` (BENCH_FUZZ_BATCHES to change the count).
"""

from __future__ import annotations

import os
import time
from collections import Counter

from bench.support import long_fuzz_settings, project_on_path

DEFAULT_BATCHES = 10_000


def main() -> None:
    project_on_path()
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "DataHubRemoteExecutor")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "dispatcher")

    from hypothesis import given

    from tests.support.aws_harness import lambda_context
    from tests.unit.fuzz.dispatcher_fuzz import batches, quiet_handler, run_batch

    count = int(os.environ.get("BENCH_FUZZ_BATCHES", DEFAULT_BATCHES))
    context = lambda_context("DispatcherFunction", "us-east-1")
    totals: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    examples: list[str] = []
    slowest = 0.0

    @long_fuzz_settings(count)
    @given(batch=batches())
    def fuzz(batch) -> None:  # type: ignore[no-untyped-def]
        nonlocal slowest
        started = time.perf_counter()
        with quiet_handler() as handler:
            outcome = run_batch(batch, handler, context)
        slowest = max(slowest, time.perf_counter() - started)
        totals["batches"] += 1
        totals["records"] += len(batch)
        totals["faults injected"] += sum(1 for case in batch if case.gms_fault or case.ecs_fault)
        for name in ("launched", "failure_reported", "ignored", "signals", "retried"):
            totals[name] += getattr(outcome, name)
        for violation in outcome.violations:
            kinds[violation.split(":", 1)[0]] += 1
            if len(examples) < 5:
                examples.append(violation)

    started = time.perf_counter()
    fuzz()
    elapsed = time.perf_counter() - started
    print(f"dispatcher fuzz: {totals['batches']} batches, {totals['records']} records in {elapsed:.1f} s")
    print(
        f"  launched {totals['launched']}, FAILURE reported {totals['failure_reported']}, "
        f"legitimately ignored {totals['ignored']}, signals {totals['signals']}, "
        f"retried {totals['retried']} (faults injected: {totals['faults injected']})"
    )
    print(f"  slowest batch {slowest * 1000:.0f} ms")
    crashes, poisoned = kinds.get("crash", 0), kinds.get("poisoned", 0)
    drops = kinds.get("silent drop", 0)
    print(
        f"  crashes {crashes}, poisoned batches {poisoned}, silent drops {drops}, other violations "
        f"{sum(kinds.values()) - crashes - poisoned - drops}"
    )
    if kinds:
        for example in examples:
            print("  e.g.", example)
        raise AssertionError(f"fuzz invariants violated: {dict(kinds)}")


if __name__ == "__main__":
    main()
