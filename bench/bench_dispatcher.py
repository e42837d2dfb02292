"""Dispatcher figures: AWS calls per launched run, cold import time, handler time per record.

Runs against moto in-process and the GMS stand-in; prints figures for the closing notes.
`python -m bench dispatcher`
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from local_stack.moto_server import ACCOUNT_ID, FAKE_CREDENTIALS, REGION

REPO_ROOT = Path(__file__).resolve().parent.parent
CLUSTER = "bench-cluster"
BUCKET = "bench-runs"
IMPORT_SAMPLES = 5
STEADY = "steady: recipe with a secret (cached)"


def _event(name: str) -> dict[str, Any]:
    return json.loads((REPO_ROOT / "events" / name).read_text())


def _run_body(execution_id: str, recipe: dict[str, Any]) -> str:
    body = json.loads(_event("run_ingest.json")["Records"][0]["body"])
    body["entityUrn"] = f"urn:li:dataHubExecutionRequest:{execution_id}"
    body["aspect"]["args"]["recipe"] = json.dumps(recipe)
    return json.dumps(body)


def _sqs(*bodies: str) -> dict[str, Any]:
    template = _event("run_ingest.json")["Records"][0]
    return {"Records": [dict(template, messageId=f"m-{i}", body=b) for i, b in enumerate(bodies)]}


class _Context:
    function_name = "bench-dispatcher"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:bench-dispatcher"
    aws_request_id = "bench"


@contextmanager
def _stack() -> Iterator[Any]:
    """moto + the stand-in + the handler's environment, like the integration tests."""
    import boto3
    from moto import mock_aws

    from local_stack import aws_fidelity
    from local_stack.gms_standin import GmsStandIn
    from local_stack.network import awsvpc_network
    from tests.support.aws_harness import register_runner_task_definition

    aws_fidelity.install()  # moto answers like AWS here too
    os.environ.update(
        {
            **FAKE_CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    gms = GmsStandIn().start()
    try:
        with mock_aws():
            subnet, sg = awsvpc_network(boto3.client("ec2", region_name=REGION))
            ecs = boto3.client("ecs", region_name=REGION)
            ecs.create_cluster(clusterName=CLUSTER)
            boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
            sm = boto3.client("secretsmanager", region_name=REGION)
            sm.create_secret(Name="datahub-executor/PG_PASSWORD", SecretString="bench-secret")
            base = register_runner_task_definition(ecs, "bench-runner", cpu="1024", memory="4096", image="runner:bench")
            os.environ.update(
                {
                    "DATAHUB_GMS_URL": gms.url,
                    "DATAHUB_GMS_TOKEN": gms.token,
                    "ECS_CLUSTER": CLUSTER,
                    "TASK_DEFINITION_ARN": base,
                    "SUBNET_IDS": subnet,
                    "SECURITY_GROUP_IDS": sg,
                    "SECRET_NAME_PREFIX": "datahub-executor/",
                    "RUN_BUCKET": BUCKET,
                    "LOG_GROUP_NAME": "/bench/runner",
                }
            )
            from dispatcher.handler import dependencies
            from dispatcher.settings import get_settings

            get_settings.cache_clear()
            dependencies.cache_clear()
            yield gms
    finally:
        gms.stop()


def _count_calls() -> Counter[str]:
    """Hook `before-call.*.*` on every client the handler's dependencies hold."""
    from dispatcher.handler import dependencies

    deps = dependencies()
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[f"{model.service_model.service_name}:{model.name}"] += 1

    for client in (deps.ecs.client, deps.s3.client, deps.secrets._adapter.client):
        client.meta.events.register("before-call.*.*", count)
    return calls


def api_calls_per_run() -> dict[str, dict[str, int]]:
    from dispatcher.handler import lambda_handler

    pg = {"source": {"type": "postgres", "config": {"password": "${PG_PASSWORD}"}}}
    sqlite = {"source": {"type": "sqlalchemy", "config": {"platform": "sqlite"}}}
    large_body = _event("large_recipe.json")["Records"][0]["body"]
    figures: dict[str, dict[str, int]] = {}
    with _stack() as gms:
        calls = _count_calls()
        scenarios = [
            ("cold: first run with a new secret set", _run_body("cold-1", pg)),
            (STEADY, _run_body("steady-1", pg)),
            ("steady: recipe without secrets", _run_body("steady-2", sqlite)),
            ("steady: 50 KB recipe (spec via S3)", large_body),
        ]
        for label, body in scenarios:
            calls.clear()
            gms_before = len(gms.requests)
            response = lambda_handler(_sqs(body), _Context())
            assert not response["batchItemFailures"], response
            figures[label] = {**dict(sorted(calls.items())), "GMS (HTTP)": len(gms.requests) - gms_before}
    return figures


#: The biggest contributors, each measured where it is first imported (cumulative of its own line).
HEAVY_IMPORTS = (
    "aws_xray_sdk.core",
    "executor_common.contract",
    "requests",
    "aws_lambda_powertools.utilities.batch",
    "pydantic_settings",
)


def _cumulative_ms(importtime_lines: list[str], module: str) -> float:
    for line in importtime_lines:
        fields = line.split("|")
        if len(fields) == 3 and fields[2].strip() == module:
            return int(fields[1]) / 1000
    return 0.0


def cold_import_ms() -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "functions")}
    cumulative: list[float] = []
    wall: list[float] = []
    parts: dict[str, list[float]] = {}
    for _ in range(IMPORT_SAMPLES):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import dispatcher.handler"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        lines = done.stderr.splitlines()
        cumulative.append(_cumulative_ms(lines, "dispatcher.handler"))
        for module in HEAVY_IMPORTS:
            parts.setdefault(module, []).append(_cumulative_ms(lines, module))
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import dispatcher.handler"], env=env, check=True)
        wall.append((time.perf_counter() - started) * 1000)
    bare = []
    for _ in range(IMPORT_SAMPLES):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append((time.perf_counter() - started) * 1000)
    figures = {
        "importtime cumulative of dispatcher.handler (median ms)": round(statistics.median(cumulative), 1),
        "process wall time minus bare interpreter (median ms)": round(
            statistics.median(wall) - statistics.median(bare), 1
        ),
    }
    for module in HEAVY_IMPORTS:
        figures[f"  of which {module} (median ms)"] = round(statistics.median(parts[module]), 1)
    return figures


def handler_ms_per_record(batches: int = 5, batch_size: int = 10) -> dict[str, float]:
    from dispatcher.handler import lambda_handler

    pg = {"source": {"type": "postgres", "config": {"password": "${PG_PASSWORD}"}}}
    per_record = []
    with _stack():
        lambda_handler(_sqs(_run_body("warm-up", pg)), _Context())
        for b in range(batches):
            event = _sqs(*[_run_body(f"batch{b}-run{i}", pg) for i in range(batch_size)])
            started = time.perf_counter()
            response = lambda_handler(event, _Context())
            elapsed = time.perf_counter() - started
            assert not response["batchItemFailures"], response
            per_record.append(elapsed * 1000 / batch_size)
    return {
        f"median ms per record, batch of {batch_size} (moto + stand-in)": round(statistics.median(per_record), 1),
        "min ms per record": round(min(per_record), 1),
        "max ms per record": round(max(per_record), 1),
    }


def main() -> dict[str, Any]:
    """Prints the figures; returns the steady-state ECS calls per launch (bench/summary.py)."""
    print("AWS API calls per launched run (botocore before-call hooks, moto):")
    calls = api_calls_per_run()
    for label, counted in calls.items():
        print(f"  {label}: {counted}")
    if not os.environ.get("BENCH_QUICK"):
        print("Cold import of dispatcher.handler:")
        for label, value in cold_import_ms().items():
            print(f"  {label}: {value}")
    print("Handler time per record:")
    for label, value in handler_ms_per_record().items():
        print(f"  {label}: {value}")
    steady = {name: n for name, n in calls[STEADY].items() if name.startswith("ecs:")}
    return {"ecs_calls_per_launch": sum(steady.values()), "ecs_actions": [f"{n}x {name}" for name, n in steady.items()]}


if __name__ == "__main__":
    sys.path[:0] = [str(REPO_ROOT / "functions"), str(REPO_ROOT)]
    main()
