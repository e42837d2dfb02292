"""`make selftest STACK_NAME=...`, the deployed form, against the stack template.yaml made in moto (issue 15 item 5).

The self-test runs as the operator runs it: `make`, in its own process, with credentials and an endpoint
in the environment. Everything it knows comes from the stack itself: DescribeStacks (outputs and
parameters), the GMS token secret, SQS, ECS, CloudWatch Logs and DataHub (here moto and the stand-in).
"""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any

from local_stack.moto_server import aws_environment
from local_stack.stack import REPO_ROOT, STACK_NAME
from selftest.hops import HOP_NAMES


def _make_selftest(stack: Any, *args: str) -> subprocess.CompletedProcess[str]:
    # Only moto's endpoint and fake credentials: never a profile of the machine running the tests.
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update(aws_environment(stack.aws.endpoint_url, stack.aws.region))
    return subprocess.run(
        ["make", "--no-print-directory", "selftest", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_make_selftest_with_stack_name_passes_every_hop_of_a_healthy_deployed_stack(stack: Any) -> None:
    # GIVEN the stack deployed from template.yaml (in moto), its runners and the GMS stand-in running
    # WHEN the operator runs the deployed form with the stack's name and region
    done = _make_selftest(stack, f"STACK_NAME={STACK_NAME}", f"REGION={stack.aws.region}")

    # THEN it found the queue, the cluster, GMS and its token from the stack, and every hop worked
    text = done.stdout + done.stderr
    assert done.returncode == 0, text
    assert f"--stack-name {STACK_NAME} --region {stack.aws.region}" in text
    for hop in HOP_NAMES:
        assert f"ok   {hop}" in text, text
    assert "ok   result written: DataHub shows SUCCESS; Estimated cost: $" in text
    assert "Self-test passed: every hop works." in text
    # AND the GMS it read (found from the stack's DataHubBaseUrl and token secret) is this stack's stand-in
    (urn,) = re.findall(r"sending TEST_CONNECTION (urn:li:dataHubExecutionRequest:selftest-[\w-]+)", text)
    assert stack.gms.statuses(urn)[-1] == "SUCCESS"


def test_make_selftest_with_an_unknown_stack_name_fails_saying_so(stack: Any) -> None:
    done = _make_selftest(stack, "STACK_NAME=no-such-stack", f"REGION={stack.aws.region}")

    assert done.returncode != 0
    said = f"Cannot read the stack 'no-such-stack' in {stack.aws.region}: ValidationError: Stack with id no-such-stack"
    assert said in done.stdout, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
