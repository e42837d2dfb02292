"""The run spec from S3 (too large for the overrides) and the run folder the runner leaves there."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Iterator

import pytest
from runner_harness import child, make_spec

from local_stack.moto_server import MotoServer, aws_environment
from tests.support.waiting import wait_until

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
    # the S3 adapter names the call and the object it could not read
    assert f"Reading s3://{BUCKET}/runs/s3-missing-1/spec.json (GetObject) failed: NoSuchKey" in final["report"]


@pytest.fixture
def silent_s3() -> Iterator[str]:
    """An S3 endpoint that accepts connections and never answers: an upload that takes as long as boto3 waits."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(listener.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    for connection in held:
        connection.close()


def test_runner_after_sigterm_writes_the_final_status_before_uploading_the_run_folder(runner, gms_standin, silent_s3):
    # GIVEN a run with a run bucket whose uploads hang (a 512 MiB folder can take that long)
    spec = make_spec("status-first-1")
    extra = {**aws_environment(silent_s3), "RUN_BUCKET": BUCKET, "RUNNER_KILL_GRACE_SECONDS": "1"}
    process = runner.start(spec, extra, child=child("hang.py"))
    try:
        wait_until(lambda: gms_standin.result(spec.execution_request_urn), 15, "the kickoff in DataHub")

        # WHEN ECS stops the task
        process.send_signal(signal.SIGTERM)

        # THEN CANCELLED is in DataHub while the runner is still busy with the upload
        wait_until(
            lambda: (gms_standin.result(spec.execution_request_urn) or {}).get("status") == "CANCELLED",
            20,
            "CANCELLED in DataHub",
        )
        assert process.poll() is None, "the runner should still be uploading the run folder"
    finally:
        process.kill()
        process.communicate(timeout=30)
