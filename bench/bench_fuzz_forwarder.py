"""The long fuzz run of the forwarder action: 10,000+ hypothesis datahub-actions envelopes (issue 10's figures).

Same strategies, fakes and invariants as tests/unit/fuzz/test_fuzz_forwarder.py (which runs 300):
no crash, no silent drop of our requests, never a FAILURE onto a request that is not ours.
Prints the counts for the closing notes and fails when an invariant was violated.
`python -m bench fuzz_forwarder` (BENCH_FUZZ_ENVELOPES to change the count).
"""

from __future__ import annotations

import os
import time
from collections import Counter

from bench.support import long_fuzz_settings, project_on_path

DEFAULT_ENVELOPES = 10_000


def main() -> None:
    project_on_path()

    from hypothesis import given

    from tests.unit.fuzz.forwarder_fuzz import envelopes, quiet_forwarder_logs, run_envelope

    count = int(os.environ.get("BENCH_FUZZ_ENVELOPES", DEFAULT_ENVELOPES))
    results: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    faults: Counter[str] = Counter()
    examples: list[str] = []

    @long_fuzz_settings(count)
    @given(case=envelopes())
    def fuzz(case) -> None:  # type: ignore[no-untyped-def]
        outcome = run_envelope(case)
        results[outcome.result] += 1
        kinds[case.kind] += 1
        faults["sqs"] += case.sqs_fault
        faults["gms"] += case.gms_fault
        faults["ours"] += case.event_is_ours()
        for violation in outcome.violations:
            results["violation: " + violation.split(":", 1)[0]] += 1
            if len(examples) < 5:
                examples.append(violation)

    started = time.perf_counter()
    with quiet_forwarder_logs():
        fuzz()
    elapsed = time.perf_counter() - started
    total = sum(kinds.values())
    print(f"forwarder fuzz: {total} envelopes in {elapsed:.1f} s ({dict(kinds)})")
    print(f"  requests of ours: {faults['ours']}; SQS faults {faults['sqs']}, GMS faults {faults['gms']}")
    print(
        f"  forwarded {results['forwarded']}, FAILURE reported {results['failure_reported']}, "
        f"unacknowledged (SQS or GMS failed, comes back) {results['unacknowledged']}, "
        f"acknowledged unreported {results['unreported']}, legitimately skipped {results['skipped']}"
    )
    violations = {k: v for k, v in results.items() if k.startswith("violation")}
    print(f"  violations: {sum(violations.values())} {violations or ''}")
    for example in examples:
        print("  e.g.", example)
    if violations:
        raise AssertionError(f"forwarder fuzz invariants violated: {violations}")


if __name__ == "__main__":
    main()
