"""1,000 requests through the dispatcher and the reconciler under injected AWS and GMS faults (issue 10's figures).

moto in-process (answering like AWS, RunTask clientToken included), moto's SQS with the template's
redrive policy (maxReceiveCount 5 -> DLQ), the GMS stand-in over HTTP; faults drawn per call:
throttling, RunTask capacity failures, AccessDenied, lost AWS responses, GMS 5xx, timeouts and lost
responses. Same harness as tests/integration/dispatcher/test_dispatcher_faults.py (which runs 50).
`python -m bench faults` (BENCH_FAULT_REQUESTS to change the count).
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections import Counter

from bench.support import project_on_path

DEFAULT_REQUESTS = 1_000


def main() -> None:
    project_on_path()
    from tests.integration.dispatcher.dispatcher_faults import FaultRates, run_under_faults

    count = int(os.environ.get("BENCH_FAULT_REQUESTS", DEFAULT_REQUESTS))
    rates = FaultRates()
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the Lambdas' EMF metrics
        ledger = run_under_faults(count, rates, seed=1000)
    elapsed = time.perf_counter() - started
    launched = sum(1 for urn in ledger.requests if ledger.tasks_per_run.get(urn))
    refused = [urn for urn in ledger.requests if not ledger.tasks_per_run.get(urn) and urn not in ledger.in_dlq]
    receives = Counter(ledger.receives.values())
    print(f"faults: {count} requests, {ledger.deliveries} deliveries (both queues) in {elapsed:.1f} s")
    print(f"  rates per call: {rates}")
    print(f"  faults injected: {sum(ledger.injected.values())} {dict(sorted(ledger.injected.items()))}")
    print(f"  receives per request: {dict(sorted(receives.items()))}")
    print(f"  launched (one task) {launched}, refused with FAILURE and no task {len(refused)}")
    print(f"  DataHub's final statuses: {dict(Counter(ledger.status.values()))}")
    print(
        f"  lost {len(ledger.lost())}, duplicated {len(ledger.duplicated())}, stuck {len(ledger.stuck())}, "
        f"in the DLQ {len(ledger.in_dlq)} (not FAILURE in DataHub: {len(ledger.dlq_not_failed())}, "
        f"unexplained: {len(ledger.dlq_unexplained())}), "
        f"reconciler DLQ {ledger.reconciler_dlq}"
    )
    for urn in sorted(ledger.in_dlq):
        print(
            f"  DLQ: {urn} received {ledger.receives[urn]}x, each failed by an injected transient fault; "
            f"tasks {ledger.tasks_per_run.get(urn, 0)}; DataHub shows {ledger.status[urn] or 'nothing (Pending)'}"
        )
    bad = ledger.lost() + ledger.duplicated() + ledger.stuck() + ledger.dlq_unexplained()
    if bad or ledger.reconciler_dlq:
        raise AssertionError(f"fault invariants violated for {len(set(bad))} request(s): {sorted(set(bad))[:5]}")


if __name__ == "__main__":
    main()
