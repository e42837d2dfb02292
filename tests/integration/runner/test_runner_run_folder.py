"""The run spec from S3 (too large for the overrides) and the run folder the runner leaves there."""

from __future__ import annotations

import pytest
from runner_harness import child, make_spec

from local_stack.moto_server import MotoServer, aws_environment

BUCKET = "executor-runs"


@pytest.fixture
def moto():
    server = MotoServer().start()
    try:
        server.aws().client("s3").create_bucket(Bucket=BUCKET)
        yield server
    finally:
        server.stop()


def test_runner_spec_from_s3_and_run_folder_written_masked(runner, gms_standin, moto):
    # GIVEN a spec in the run bucket (as the dispatcher stores a large one) and a child printing a secret
    recipe = {"source": {"type": "file", "config": {"password": "${DB_PASSWORD}", "padding": "p" * 10_000}}}
    spec = make_spec("s3-run-1", recipe, secret_names=["DB_PASSWORD"])
    s3 = moto.aws().client("s3")
    s3.put_object(Bucket=BUCKET, Key="runs/s3-run-1/spec.json", Body=spec.model_dump_json().encode())
    extra = {
        **aws_environment(moto.endpoint_url),
        "EXECUTOR_RUN_SPEC": "",
        "EXECUTOR_RUN_SPEC_URI": f"s3://{BUCKET}/runs/s3-run-1/spec.json",
        "RUN_BUCKET": BUCKET,
        "DB_PASSWORD": "s3-canary-pw-0a9b",
    }

    result = runner.run(spec, extra, child=child("leaky.py", "{report_file}"))

    # THEN the run succeeded and the run folder holds the masked full log and reports
    assert result.returncode == 0, result.stderr
    assert gms_standin.result(spec.execution_request_urn)["status"] == "SUCCESS"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="runs/s3-run-1/")["Contents"]}
    assert {"runs/s3-run-1/runner.log", "runs/s3-run-1/report.txt", "runs/s3-run-1/report.json"} <= keys
    log = s3.get_object(Bucket=BUCKET, Key="runs/s3-run-1/runner.log")["Body"].read().decode()
    assert "password for DB_PASSWORD is ********" in log
    for key in keys:
        assert "s3-canary-pw-0a9b" not in s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()


def test_runner_unreadable_spec_reports_failure_to_the_urn_from_the_overrides(runner, gms_standin, moto):
    spec = make_spec("s3-missing-1")
    extra = {
        **aws_environment(moto.endpoint_url),
        "EXECUTOR_RUN_SPEC": "",
        "EXECUTOR_RUN_SPEC_URI": f"s3://{BUCKET}/runs/s3-missing-1/spec.json",
        "EXECUTOR_EXECUTION_REQUEST_URN": spec.execution_request_urn,
    }

    result = runner.run(spec, extra)

    assert result.returncode == 1
    final = gms_standin.result(spec.execution_request_urn)
    assert final["status"] == "FAILURE"
    assert "could not read the run spec" in final["report"]
