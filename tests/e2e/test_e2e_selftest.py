"""`make selftest --local`: a TEST_CONNECTION through the local stack, hop by hop (issue 15 item 5)."""

from __future__ import annotations

import io

from selftest.__main__ import main, run_local


def test_selftest_local_healthy_stack_passes_every_hop():
    out = io.StringIO()

    code = main(["--local", "--timeout", "240"], out=out)

    text = out.getvalue()
    assert code == 0, text
    for hop in ("message accepted", "dispatcher invoked", "task started", "GMS reachable", "result written"):
        assert f"ok   {hop}" in text
    assert "Self-test passed" in text
    assert "ok   result written: DataHub shows SUCCESS; Estimated cost: $" in text  # the report's cost line
    # the right-size hint, from the task's cgroup files the local agent keeps (local_stack/task_cgroup.py)
    assert "Memory: peak " in text and "of 4.0 GiB: `EXECUTOR_TASK_MEMORY=2048` would do" in text


def test_selftest_local_missing_secret_names_the_failed_hop_and_the_fix():
    # GIVEN a source whose recipe names a secret the stack does not have (Secrets Manager only, so the
    # dispatcher can refuse it; with DataHub's store on, the runner is the one that finds it in neither store)
    recipe = {
        "source": {
            "type": "sqlalchemy",
            "config": {"platform": "sqlite", "connect_uri": "sqlite:///${SELFTEST_MISSING_SECRET}"},
        }
    }
    out = io.StringIO()

    code = run_local(out, recipe=recipe, timeout=240, parameters={"DataHubSecretStore": "Disabled"})

    # THEN the self-test fails at the launch, says why (the secret) and what to do
    text = out.getvalue()
    assert code == 1, text
    assert "FAIL task started" in text
    assert "SELFTEST_MISSING_SECRET" in text
    assert "fix: The dispatcher refused or could not launch the run" in text
    assert "--   GMS reachable: not reached" in text


def test_selftest_local_gms_unreachable_from_the_tasks_names_that_hop_and_the_fix():
    # GIVEN a stack whose tasks' subnets have no path to GMS, while the Lambdas reach it (as on AWS with a
    # missing route, peering or egress rule): the local agent times out the runner's connections to GMS
    out = io.StringIO()

    code = run_local(out, timeout=240, gms_reachable_from_tasks=False)

    text = out.getvalue()
    assert code == 1, text
    # THEN the dispatcher (a Lambda) still wrote RUNNING, and the task started with its secrets
    assert "... DataHub shows RUNNING" in text
    for hop in ("message accepted", "dispatcher invoked", "task started", "image pulled", "secrets fetched"):
        assert f"ok   {hop}" in text
    # AND the self-test read the runner's own log (CloudWatch) to name the broken hop, and says what to fix
    assert "FAIL GMS reachable: the runner could not reach DataHub GMS from the task's subnets (the Lambdas do" in text
    assert "GMS unreachable at http://127.0.0.1:" in text
    assert "fix: The runner's subnets cannot reach DataHubBaseUrl" in text
    assert "--   result written: not reached" in text
    assert "Self-test FAILED at 'GMS reachable'." in text


def test_selftest_without_the_runner_log_names_gms_from_the_reconcilers_diagnosis():
    # GIVEN GMS unreachable from the tasks, a runner that gives up its final write after 5 s (900 s on AWS),
    # and an operator who may not read the runner's log: what is left is what happens on AWS in the end,
    # the task stops and the reconciler (a Lambda, which reaches GMS) writes why
    out = io.StringIO()

    code = run_local(
        out,
        timeout=240,
        gms_reachable_from_tasks=False,
        runner_env={"RUNNER_TERMINAL_WRITE_DEADLINE_SECONDS": "5"},
        read_runner_log=False,
    )

    # THEN the self-test still fails at GMS, quoting the reconciler's diagnosis
    text = out.getvalue()
    assert code == 1, text
    assert "ok   secrets fetched" in text
    assert (
        "FAIL GMS reachable: the runner never wrote to DataHub GMS; the reconciler, outside the subnets, wrote: "
        in text
    )
    assert "final status never reached DataHub" in text
    assert "fix: The runner's subnets cannot reach DataHubBaseUrl" in text
