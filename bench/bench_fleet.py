"""Fleet control under load, on the local stack (issue 14's figures).

(a) a burst of BENCH_FLEET_BURST requests (default 1,000) against MaxConcurrentRuns=20: every run SUCCESS,
    never more than 20 at once (sampled every 0.1 s), none failed or in the DLQ; longest wait, launch rate;
(b) a burst of BENCH_FLEET_REFUSED_BURST (1,000) with 30 % of RunTask calls refused for capacity and a Fargate
    vCPU quota of 10
    (RunTask's "You've reached the limit on the number of vCPUs ..."): same outcome;
(c) BENCH_FLEET_ONE_SOURCE (100) scheduled runs of one source with `queue`, then with `skip`: at most one
    at a time; `queue` -> each SUCCESS in turn, `skip` -> each other DUPLICATE naming the run still going;
(d) BENCH_FLEET_SPOT (100) runs on FARGATE_SPOT_WITH_FALLBACK, the agent interrupting 10 % of Spot tasks:
    each SUCCESS, the interrupted ones on their on-demand re-run, one execution request each in DataHub;
(e) a burst of BENCH_FLEET_OUTAGE_BURST (1,000) with GMS answering 503 for 30 s once runs are going:
    nothing lost, every run SUCCESS once GMS is back.

Every container runs the real runner in the local stack's fast container mode (local_stack/fleet_load.py
says what is real and what is scaled; the output repeats it). `python -m bench fleet`; writes
bench/results/fleet.json. BENCH_FLEET_ONLY=a,c runs some of them. About an hour on 2 shared cores.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from local_stack import fleet_load
from local_stack.aws_fidelity import FargateConditions

RESULTS = Path(__file__).resolve().parent / "results" / "fleet.json"
BURST = int(os.environ.get("BENCH_FLEET_BURST", "1000"))
REFUSED_BURST = int(os.environ.get("BENCH_FLEET_REFUSED_BURST", "1000"))
ONE_SOURCE = int(os.environ.get("BENCH_FLEET_ONE_SOURCE", "100"))
SPOT_RUNS = int(os.environ.get("BENCH_FLEET_SPOT", "100"))
OUTAGE_BURST = int(os.environ.get("BENCH_FLEET_OUTAGE_BURST", "1000"))
#: Per scenario; a 1,000 burst under a vCPU quota of 10 runs ten at a time.
TIMEOUT = float(os.environ.get("BENCH_FLEET_TIMEOUT", "3600"))
ONLY = set(filter(None, os.environ.get("BENCH_FLEET_ONLY", "a,b,c,d,e").split(",")))
QUICK_INGEST_SECONDS = 1.0
#: Longer than the suite's 3 s: with hundreds waiting, each check is a dispatcher record.
WAIT_CHECK_SECONDS = 10
#: Each run asks for 1 vCPU (TaskCpu 1024): a quota of 10 bites well before the limit of 20.
VCPU_QUOTA = 10
OUTAGE_SECONDS = 30.0


def _print(label: str, outcome: fleet_load.Outcome, problems: list[str]) -> None:
    figures = {k: v for k, v in outcome.figures().items() if k not in ("capacity_per_run", "interrupted_runs")}
    print(
        f"{label}: {outcome.requests} requests in {outcome.seconds:.0f} s -> {outcome.by_status}; "
        f"at most {outcome.most_live} running at once (of one source: {outcome.most_live_per_group}); "
        f"longest wait {outcome.longest_wait_s:.1f} s; launch rate {outcome.launch_rate_per_s:.2f}/s; "
        f"DLQ {outcome.dlq}; RunTask refused {outcome.refused or 0}; Spot interrupted {outcome.interrupted}"
        + (f"; {', '.join(f'{k} {v}' for k, v in figures.items() if k.startswith(('gms', 'runs_going', 'reran')))}")
        + (f"\n  BROKEN: {problems}" if problems else "  [holds]"),
        flush=True,
    )


def main() -> dict[str, Any]:
    started = time.perf_counter()
    stack = fleet_load.fleet_stack(quick_ingest_seconds=QUICK_INGEST_SECONDS, wait_check_seconds=WAIT_CHECK_SECONDS)
    stack.start()
    note = fleet_load.fast_mode_note(QUICK_INGEST_SECONDS, WAIT_CHECK_SECONDS)
    print(f"limit {fleet_load.LIMIT} concurrent runs; {note}", flush=True)
    results: dict[str, Any] = {"limit": fleet_load.LIMIT, "mode": note, "cpus": os.cpu_count()}
    broken: list[str] = []
    try:
        if "a" in ONLY:
            outcome = fleet_load.burst(stack, BURST, name="a-burst", timeout=TIMEOUT)
            problems = fleet_load.check_burst(outcome)
            _print("(a) burst", outcome, problems)
            results["a_burst"], broken = outcome.figures(), broken + problems
        if "b" in ONLY:
            refusing = FargateConditions(capacity_failure_rate=0.3, on_demand_vcpu_quota=VCPU_QUOTA)
            outcome = fleet_load.burst(stack, REFUSED_BURST, name="b-refused", fargate=refusing, timeout=TIMEOUT)
            problems = fleet_load.check_burst(outcome)
            _print(f"(b) burst, 30 % capacity refusals, vCPU quota {VCPU_QUOTA}", outcome, problems)
            results["b_burst_refused"], broken = outcome.figures(), broken + problems
        if "c" in ONLY:
            for policy in ("queue", "skip"):
                outcome = fleet_load.one_source(stack, ONE_SOURCE, policy, timeout=TIMEOUT)
                problems = fleet_load.check_one_source(outcome, policy, stack)
                _print(f"(c) one source, {policy}", outcome, problems)
                results[f"c_one_source_{policy}"], broken = outcome.figures(), broken + problems
        if "d" in ONLY:
            outcome = fleet_load.spot(stack, SPOT_RUNS, interruption_rate=0.1, timeout=TIMEOUT)
            problems = fleet_load.check_spot(outcome, stack)
            _print("(d) Spot with fallback, 10 % interrupted", outcome, problems)
            figures = outcome.figures()
            figures.pop("capacity_per_run")
            figures["interrupted_runs"] = len(figures["interrupted_runs"])
            results["d_spot"], broken = figures, broken + problems
        if "e" in ONLY:
            outcome = fleet_load.burst(
                stack, OUTAGE_BURST, name="e-outage", gms_outage_seconds=OUTAGE_SECONDS, timeout=TIMEOUT
            )
            problems = fleet_load.check_burst(outcome)
            _print(f"(e) burst with GMS down {OUTAGE_SECONDS:.0f} s", outcome, problems)
            results["e_gms_outage"], broken = outcome.figures(), broken + problems
    finally:
        stack.stop()
    results["total_s"] = round(time.perf_counter() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    if broken:
        raise AssertionError(f"fleet figures broken: {broken}")
    return results


if __name__ == "__main__":
    main()
