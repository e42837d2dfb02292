"""Canary secrets through one real run of the local stack, then every sink scanned (issue 10's figures).

Canaries: regex metacharacters, unicode, a newline, and a two-character value. The recipe puts each
into a boolean field of the source's config, so the values travel the whole way (Secrets Manager ->
task definition secrets -> runner -> child) and `datahub ingest` refuses them (acryl-datahub 1.7 names
the fields but leaves the values out of its message; children that print the values are in
tests/integration/runner/test_runner_secrets.py). Sinks: CloudWatch Logs (every group: the runner's stream and the
functions'), the S3 run folder, everything GMS received and stores for the run, DescribeTasks, every
task definition, the runner's and the Lambdas' output (where their exceptions go).

Expected, as functions/executor_common/masking.py documents it: no raw value and no registered form
of it anywhere; a value shorter than MIN_SUBSTRING_LENGTH is masked as a whole token only, so for
the two-character canary the sweep looks for whole tokens.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import E2E_SECRET, TERMINAL, tasks_of
from executor_common.masking import MIN_SUBSTRING_LENGTH, registered_forms

from local_stack.commands import create_sqlite_db, new_execution_urn, run_command, sqlite_recipe

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

CANARIES = {
    "CANARY_META": r"c4n^.*+?(x)[y]{2}|$\z",
    "CANARY_UNI": "pässwörd-秘密-🔑-9f2",
    "CANARY_NL": "canary-line-one-71\ncanary-line-two-38",
    "CANARY_SHORT": "q7",
}
PREFIX = "datahub-executor/"


@pytest.fixture(scope="module")
def canary_stack() -> Iterator[tuple[Any, Path]]:
    """A local stack of its own, whose function processes write their logs (stderr) to a file we scan."""
    from local_stack.stack import LocalStack

    lambda_log = Path(tempfile.mkdtemp(prefix="canary-lambda-logs-")) / "stderr.log"
    saved = os.dup(2)
    with lambda_log.open("wb") as sink:
        os.dup2(sink.fileno(), 2)  # the workers inherit it as their stderr
        try:
            local = LocalStack(log_level="INFO").start()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    try:
        yield local, lambda_log
    finally:
        local.stop()


def _sinks(stack: Any, urn: str, lambda_log: Path) -> dict[str, str]:
    aws = stack.aws
    logs = aws.client("logs")
    texts: dict[str, str] = {}
    for group in logs.describe_log_groups()["logGroups"]:
        name = group["logGroupName"]
        for stream in logs.describe_log_streams(logGroupName=name)["logStreams"]:
            events = logs.get_log_events(logGroupName=name, logStreamName=stream["logStreamName"])["events"]
            texts[f"CloudWatch {name}/{stream['logStreamName']}"] = "\n".join(e["message"] for e in events)
    s3 = aws.client("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        for item in s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", []):
            body = s3.get_object(Bucket=bucket["Name"], Key=item["Key"])["Body"].read()
            texts[f"S3 {bucket['Name']}/{item['Key']}"] = body.decode("utf-8", "replace")
    texts["GMS requests"] = json.dumps(stack.gms.requests, default=str, ensure_ascii=False)
    texts["GMS stored aspects"] = json.dumps(stack.gms.aspects(urn), ensure_ascii=False)
    texts["GMS result history"] = json.dumps(stack.gms.history(urn), ensure_ascii=False)
    tasks = tasks_of(stack, urn)
    texts["DescribeTasks"] = json.dumps(tasks, default=str, ensure_ascii=False)
    ecs = aws.client("ecs")
    definitions = [
        ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        for arn in ecs.list_task_definitions()["taskDefinitionArns"]
    ]
    texts["task definitions"] = json.dumps(definitions, default=str, ensure_ascii=False)
    for task in tasks:
        path = stack.agent.log_path(task["taskArn"])
        if path is not None and path.exists():
            texts[f"runner output {path.name}"] = path.read_text(errors="replace")
    texts["Lambda logs (stderr)"] = lambda_log.read_text(errors="replace")
    return texts


def _leaks(texts: dict[str, str]) -> list[str]:
    found = []
    for name, value in CANARIES.items():
        for form in registered_forms(value):
            if len(form) >= MIN_SUBSTRING_LENGTH:
                pattern = re.compile(re.escape(form))
            else:  # masked as a whole token only (masking.py): look for whole tokens
                pattern = re.compile(rf"(?<![\w]){re.escape(form)}(?![\w])")
            for sink, text in texts.items():
                if pattern.search(text):
                    found.append(f"{name} as {form!r} in {sink}")
    return found


def test_e2e_canary_secrets_reach_no_sink_in_any_registered_form(canary_stack: tuple[Any, Path]) -> None:
    stack, lambda_log = canary_stack
    # GIVEN canary secrets in Secrets Manager, and a recipe whose validation error will quote each of them
    sm = stack.aws.client("secretsmanager")
    db_path = create_sqlite_db(stack.state_dir / "source" / "canary.db")
    sm.create_secret(Name=PREFIX + E2E_SECRET, SecretString=str(db_path))
    for name, value in CANARIES.items():
        sm.create_secret(Name=PREFIX + name, SecretString=value)
    urn = new_execution_urn("e2e-canaries")
    recipe = sqlite_recipe(
        "${" + E2E_SECRET + "}",
        pipeline_name="e2e-canaries",
        include_views="${CANARY_META}",
        include_tables="${CANARY_UNI}",
        include_view_lineage="${CANARY_NL}",
        include_table_location_lineage="${CANARY_SHORT}",
    )

    # WHEN DataHub sends RUN_INGEST and the run ends
    stack.send(run_command(urn, recipe))
    result = stack.gms.wait_for_status(urn, TERMINAL, timeout=150)

    # THEN the run failed on the refused values, saying where, and showing each of them masked
    assert result["status"] == "FAILURE", result.get("report", "")[-2000:]
    texts = _sinks(stack, urn, lambda_log)
    assert any(key.startswith("runner output") for key in texts), sorted(texts)
    assert any(key.startswith("CloudWatch") and "runs/" in key for key in texts), sorted(texts)
    runner_output = "\n".join(text for key, text in texts.items() if key.startswith("runner output"))
    # each value reached the child (substituted, then refused by the source's config), which names the fields;
    # acryl-datahub 1.7 leaves pydantic's input_value out of the message, so the child prints no value itself
    assert f"{len(CANARIES)} validation errors" in runner_output, runner_output[-3000:]
    # AND no canary, in no registered form, in any sink
    assert _leaks(texts) == []
