"""End-to-end latency through the local stack (queue -> dispatcher -> ECS task -> runner -> DataHub).

1. send -> RUNNING visible in the GMS stand-in, for 20 requests sent one after the other
   (each waits for its RUNNING, not for the end of the previous run): median, p90, max
   (goal: median < 1 s). The first request of the stack is measured apart (cold start).
2. send -> SUCCESS for the demo recipe (SQLite source, path from a secret), median of 3 runs,
   each started when the previous one ended.
3. a burst: 20 requests sent at once, all must end SUCCESS on 20 distinct tasks; wall time to the last
   (moved here from the e2e tests, where it took ~71 s of every `make test`).

    python -m bench e2e     (or: python -m bench.bench_e2e); writes bench/results/e2e.json
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from executor_common.status import TERMINAL_STATUSES

from local_stack.commands import create_sqlite_db, new_execution_urn, run_command, sqlite_recipe
from local_stack.stack import LocalStack

RESULTS = Path(__file__).resolve().parent / "results" / "e2e.json"
RUNNING_SAMPLES = int(os.environ.get("BENCH_E2E_RUNNING_SAMPLES", "20"))
SUCCESS_SAMPLES = int(os.environ.get("BENCH_E2E_SUCCESS_SAMPLES", "3"))
TERMINAL = tuple(sorted(TERMINAL_STATUSES))
SECRET = "BENCH_DB_PATH"
BURST_SIZE = int(os.environ.get("BENCH_E2E_BURST", "20"))


def _send_and_wait(stack: LocalStack, recipe: dict[str, Any], statuses: tuple[str, ...]) -> tuple[str, float, str]:
    assert stack.gms is not None
    urn = new_execution_urn("bench")
    started = time.perf_counter()
    stack.send(run_command(urn, recipe))
    result = stack.gms.wait_for_status(urn, statuses, timeout=180)
    return urn, time.perf_counter() - started, str(result["status"])


def _burst(stack: LocalStack, recipe: dict[str, Any], size: int) -> tuple[float, int]:
    """`size` requests sent at once: seconds until all ended, and how many tasks ran them (must be `size`)."""
    from executor_common.runspec import TAG_EXECUTION_REQUEST

    assert stack.gms is not None
    urns = [new_execution_urn(f"bench-burst-{index:02d}") for index in range(size)]
    started = time.perf_counter()
    for urn in urns:
        stack.send(run_command(urn, recipe))
    failed = {
        urn: status
        for urn in urns
        if (status := stack.gms.wait_for_status(urn, TERMINAL, timeout=300)["status"]) != "SUCCESS"
    }
    seconds = time.perf_counter() - started
    if failed:
        raise RuntimeError(f"burst runs did not all succeed: {failed}")
    arns = stack.tasks("RUNNING") + stack.tasks("STOPPED")
    tagged = {urn for urn in urns}
    tasks = {
        task["taskArn"]
        for task in stack.describe_tasks(arns)
        for tag in task.get("tags", [])
        if tag["key"] == TAG_EXECUTION_REQUEST and tag["value"] in tagged
    }
    return seconds, len(tasks)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> dict[str, Any]:
    started = time.perf_counter()
    stack = LocalStack(log_level="ERROR").start()
    startup = time.perf_counter() - started
    try:
        assert stack.aws is not None and stack.agent is not None
        db_path = create_sqlite_db(stack.state_dir / "bench" / "bench.db")
        stack.aws.client("secretsmanager").create_secret(Name=f"datahub-executor/{SECRET}", SecretString=str(db_path))
        recipe = sqlite_recipe("${" + SECRET + "}", pipeline_name="bench")

        _, cold_running, _ = _send_and_wait(stack, recipe, ("RUNNING", *TERMINAL))
        running = [_send_and_wait(stack, recipe, ("RUNNING", *TERMINAL))[1] for _ in range(RUNNING_SAMPLES)]
        stack.agent.wait_idle(timeout=240)

        success: list[float] = []
        for _ in range(SUCCESS_SAMPLES):
            _, seconds, status = _send_and_wait(stack, recipe, TERMINAL)
            if status != "SUCCESS":
                raise RuntimeError(f"a benchmark run ended {status}")
            success.append(seconds)
            stack.agent.wait_idle(timeout=60)
        burst_seconds, burst_tasks = _burst(stack, recipe, BURST_SIZE)
    finally:
        stack.stop()

    figures = {
        "stack_startup_s": round(startup, 2),
        "send_to_running_cold_s": round(cold_running, 3),
        "send_to_running_median_s": round(statistics.median(running), 3),
        "send_to_running_p90_s": round(_percentile(running, 0.9), 3),
        "send_to_running_max_s": round(max(running), 3),
        "send_to_running_samples": len(running),
        "send_to_success_median_s": round(statistics.median(success), 2),
        "send_to_success_min_s": round(min(success), 2),
        "send_to_success_samples": len(success),
        "burst_size": BURST_SIZE,
        "burst_all_success_s": round(burst_seconds, 1),
        "burst_tasks": burst_tasks,
        "cpus": os.cpu_count(),
    }
    print(f"local stack startup:         {figures['stack_startup_s']:.2f} s")
    print(f"send -> RUNNING, cold:       {figures['send_to_running_cold_s']:.3f} s (first request: handler warm-up)")
    print(
        f"send -> RUNNING, n={len(running)}:       median {figures['send_to_running_median_s']:.3f} s, "
        f"p90 {figures['send_to_running_p90_s']:.3f} s, max {figures['send_to_running_max_s']:.3f} s "
        "(goal: median < 1 s)"
    )
    print(
        f"send -> SUCCESS, n={len(success)} (demo recipe): median {figures['send_to_success_median_s']:.2f} s, "
        f"min {figures['send_to_success_min_s']:.2f} s"
    )
    print(f"burst of {BURST_SIZE} at once:       all SUCCESS on {burst_tasks} tasks in {burst_seconds:.1f} s")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main()
