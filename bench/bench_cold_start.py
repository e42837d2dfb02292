"""Cold start of each function's handler against a minimal powertools SQS handler (goal: <= 2x).

Each sample imports one module in a fresh interpreter and times the import alone (interpreter start
excluded); the functions and the reference alternate, so a busy machine slows both alike. As in
Lambda, the path is the `sam build` package plus the runtime's boto3 and nothing else (`python -S`),
and nothing writes bytecode, as in Lambda's read-only /var/task: a module compiles from source at each
start unless the package ships its bytecode (functions/Makefile, BYTECODE_ONLY; the reference loads from
the same package). `make build` first; else the repository's `functions/` and this virtualenv are used,
with their bytecode caches. The environment is a Lambda one (template.yaml's Globals, placeholders) with
tracing off (POWERTOOLS_TRACE_DISABLED=true) and AWS_LAMBDA_FUNCTION_NAME set, so each handler also
validates its settings at init, as in Lambda.
A second table times the same imports with tracing on (the template's `Tracing: Active`), where
powertools' Tracer must import the X-Ray SDK and patch botocore: reported, not held to the goal.
`python -m bench cold_start`
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = 7
GOAL_RATIO = 2.0
HANDLERS = ("dispatcher.handler", "reconciler.handler", "backstop.handler")
REFERENCE = "minimal_sqs_handler"
PACKAGE = REPO_ROOT / ".aws-sam" / "build" / "DispatcherFunction"
#: What the python3.11 Lambda runtime provides besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "dateutil", "six.py")

#: Logger + BatchProcessor + process_partial_response, nothing else: the floor any powertools SQS handler pays.
MINIMAL_HANDLER = """
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record):
    logger.info("record", extra={"message_id": record.message_id})


def lambda_handler(event, context):
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
"""

#: What template.yaml gives the functions, with placeholders that pass each settings model's validation.
LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "bench-function",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "DataHubRemoteExecutor",
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
    "DATAHUB_GMS_URL": "https://gms.example.com",
    "DATAHUB_GMS_TOKEN": "bench-token",
    "ECS_CLUSTER": "bench-cluster",
    "TASK_DEFINITION_ARN": "arn:aws:ecs:us-east-1:123456789012:task-definition/bench-runner:1",
    "SUBNET_IDS": "subnet-1",
    "SECURITY_GROUP_IDS": "sg-1",
    "RUN_BUCKET": "bench-runs",
    "LOG_GROUP_NAME": "/bench/runner",
}
#: Tracing on as in Lambda: powertools enables its Tracer when LAMBDA_TASK_ROOT is set and nothing disables it.
TRACING_ENV = {**LAMBDA_ENV, "POWERTOOLS_TRACE_DISABLED": "false", "LAMBDA_TASK_ROOT": "/var/task"}

TIMED_IMPORT = (
    "import time; t, c = time.perf_counter(), time.process_time(); import {module}; "
    "print(time.perf_counter() - t, time.process_time() - c)"
)


class Seconds(NamedTuple):
    """One import: wall seconds (the goal's measure) and the interpreter's CPU seconds (what neighbours barely move)."""

    wall: float
    cpu: float


def import_seconds(module: str, path: list[str], env: dict[str, str]) -> Seconds:
    """Seconds to import `module` in a fresh interpreter (after its own start-up), `path` first on sys.path."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_", "LAMBDA_"))}
    isolated = PACKAGE.is_dir()
    code = f"import sys; sys.path[:0] = {path!r}; " + TIMED_IMPORT.format(module=module)
    # From the package, nothing is cached: Lambda's /var/task is read-only (only shipped bytecode is read).
    no_bytecode = {"PYTHONDONTWRITEBYTECODE": "1"} if isolated else {}
    done = subprocess.run(
        [sys.executable, *(["-S"] if isolated else []), "-c", code],
        env={**clean, **env, **no_bytecode},
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu = done.stdout.strip().splitlines()[-1].split()
    return Seconds(float(wall), float(cpu))


def medians(env: dict[str, str], samples: int = SAMPLES) -> dict[str, Seconds]:
    """Median import seconds (wall, CPU) of the reference and every handler, sampled interleaved."""
    times: dict[str, list[Seconds]] = {name: [] for name in (REFERENCE, *HANDLERS)}
    with tempfile.TemporaryDirectory() as scratch:
        Path(scratch, f"{REFERENCE}.py").write_text(MINIMAL_HANDLER)
        if PACKAGE.is_dir():  # Lambda's path: the package, then the runtime's boto3 (linked from this venv)
            runtime = Path(scratch, "runtime")
            runtime.mkdir()
            site_packages = Path(next(p for p in sys.path if p.endswith("site-packages")))
            for name in RUNTIME_PACKAGES:
                os.symlink(site_packages / name, runtime / name)
            path = [scratch, str(PACKAGE), str(runtime)]
        else:
            path = [scratch, str(REPO_ROOT / "functions")]
        for module in times:  # one unmeasured round: bytecode caches written, files in the page cache
            import_seconds(module, path, env)
        for _ in range(samples):
            for module in times:
                times[module].append(import_seconds(module, path, env))
    return {
        module: Seconds(statistics.median(v.wall for v in values), statistics.median(v.cpu for v in values))
        for module, values in times.items()
    }


def print_table(title: str, figures: dict[str, Seconds], *, held_to_goal: bool) -> bool:
    """Wall medians and their ratio (held to the goal); CPU medians and ratio beside, as a check on a busy machine."""
    reference = figures[REFERENCE]
    print(title)
    print(f"  {'module':<22} {'median ms':>10} {'ratio':>7}  {'CPU ms':>8} {'ratio':>7}  goal <= {GOAL_RATIO:.0f}x")
    print(f"  {REFERENCE:<22} {reference.wall * 1000:>10.1f} {1.0:>7.2f}  {reference.cpu * 1000:>8.1f} {1.0:>7.2f}")
    ok = True
    for module in HANDLERS:
        ratio = figures[module].wall / reference.wall
        cpu_ratio = figures[module].cpu / reference.cpu
        verdict = ("OK" if ratio <= GOAL_RATIO else "OVER GOAL") if held_to_goal else "(reported)"
        ok = ok and ratio <= GOAL_RATIO
        print(
            f"  {module:<22} {figures[module].wall * 1000:>10.1f} {ratio:>7.2f}  "
            f"{figures[module].cpu * 1000:>8.1f} {cpu_ratio:>7.2f}  {verdict}"
        )
    return ok


def main() -> dict[str, Any]:
    """Prints both tables; returns the tracing-off figures (bench/summary.py).

    BENCH_QUICK: 5 samples, and no tracing-on table.
    """
    quick = bool(os.environ.get("BENCH_QUICK"))
    samples = 5 if quick else SAMPLES
    where = PACKAGE.relative_to(REPO_ROOT) if PACKAGE.is_dir() else "functions/ in this virtualenv (no sam build)"
    print(f"Fresh-interpreter import from {where}, medians of {samples}, interleaved with the reference.")
    figures = medians(LAMBDA_ENV, samples=samples)
    print_table("Tracing off (POWERTOOLS_TRACE_DISABLED=true):", figures, held_to_goal=True)
    if not quick:
        print_table(
            "Tracing on (Tracing: Active; X-Ray SDK + botocore patching):",
            medians(TRACING_ENV, samples=5),
            held_to_goal=False,
        )
    reference = figures[REFERENCE]
    return {
        "reference_ms": reference.wall * 1000,
        "ms": {module: figures[module].wall * 1000 for module in HANDLERS},
        "ratios": {module: figures[module].wall / reference.wall for module in HANDLERS},
        "cpu_ratios": {module: figures[module].cpu / reference.cpu for module in HANDLERS},
        "goal": GOAL_RATIO,
    }


if __name__ == "__main__":
    main()
