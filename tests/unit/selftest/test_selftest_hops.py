"""The self-test's judgement: the first hop that failed, in plain words, with its fix."""

from __future__ import annotations

import pytest

from selftest.hops import Observations, gms_unreachable_from_task, judge, render

TASK = {"taskArn": "arn:aws:ecs:us-east-1:1:task/c/abc", "lastStatus": "STOPPED", "startedAt": "2026-12-04T10:00:00Z"}
KICKOFF = ("RUNNING", "Run started by executor 'remote' in ECS task ...")
UNREACHABLE_LINE = (
    "[executor] WARNING GMS write for urn:li:dataHubExecutionRequest:x failed (attempt 1, retrying in 0.7s): "
    "GMS unreachable at https://gms.example.com/gms: ConnectTimeout"
)


def _first_failure(seen: Observations) -> str | None:
    return next((h.name for h in judge(seen) if h.ok is False), None)


@pytest.mark.parametrize(
    ("seen", "failed", "fix_words"),
    [
        (Observations(message_id="m", datahub=[KICKOFF, ("SUCCESS", "done")], task=TASK), None, ""),
        (Observations(), "message accepted", "sqs:SendMessage"),
        (Observations(message_id="m"), "dispatcher invoked", "event source mapping"),
        (
            Observations(message_id="m", datahub=[("FAILURE", "Secret 'PG_PASSWORD' was not found")]),
            "task started",
            "RunTask errors",
        ),
        (
            Observations(
                message_id="m",
                datahub=[("RUNNING", "Launched")],
                task={"taskArn": "t", "lastStatus": "STOPPED", "stoppedReason": "CannotPullContainerError: timeout"},
            ),
            "image pulled",
            "VPC endpoints",
        ),
        (
            Observations(
                message_id="m",
                datahub=[("RUNNING", "Launched")],
                task={"taskArn": "t", "lastStatus": "STOPPED", "stoppedReason": "ResourceInitializationError: secrets"},
            ),
            "secrets fetched",
            "secretsmanager:GetSecretValue",
        ),
        (
            Observations(message_id="m", datahub=[("RUNNING", "Launched"), ("FAILURE", "exited")], task=TASK),
            "GMS reachable",
            "DataHubBaseUrl",
        ),
        (
            Observations(message_id="m", datahub=[("RUNNING", "Launched")], task=TASK, runner_log=[UNREACHABLE_LINE]),
            "GMS reachable",
            "security group",
        ),
        (Observations(message_id="m", datahub=[KICKOFF], task=TASK), "result written", "--timeout"),
    ],
)
def test_judge_names_first_failed_hop_and_its_fix(seen, failed, fix_words):
    hops = judge(seen)
    assert _first_failure(seen) == failed
    assert len(hops) == 7
    if failed:
        (bad,) = [h for h in hops if h.ok is False]
        assert fix_words in bad.fix
        after = hops[[h.name for h in hops].index(failed) + 1 :]
        assert all(h.ok is None for h in after)
        assert f"Self-test FAILED at '{failed}'" in render(hops)
    else:
        assert render(hops).endswith("Self-test passed: every hop works.")


def test_gms_hop_quotes_the_runner_log_while_the_task_still_retries():
    # GIVEN the dispatcher's RUNNING, a running task, and the runner's log of its failed writes
    seen = Observations(
        message_id="m",
        datahub=[("RUNNING", "Launched")],
        task={"taskArn": "t", "lastStatus": "RUNNING", "startedAt": "2026-12-04T10:00:00Z"},
        runner_log=["[executor] INFO starting", UNREACHABLE_LINE],
    )

    # THEN the stop rule fires and the hop quotes the log line
    assert gms_unreachable_from_task(seen) == UNREACHABLE_LINE
    (gms,) = [h for h in judge(seen) if h.name == "GMS reachable"]
    assert gms.ok is False
    assert "the Lambdas do" in gms.said and "GMS unreachable at https://gms.example.com/gms" in gms.said


def test_gms_hop_after_the_task_stopped_quotes_the_reconcilers_diagnosis():
    # GIVEN no log (the caller may not read it) and the reconciler's FAILURE for a runner that never wrote
    reconciler = "The runner finished but its final status never reached DataHub.\n\nWhat happened: ..."
    seen = Observations(message_id="m", datahub=[("RUNNING", "Launched"), ("FAILURE", reconciler)], task=TASK)

    (gms,) = [h for h in judge(seen) if h.name == "GMS reachable"]

    assert gms.ok is False
    assert "the reconciler, outside the subnets, wrote: The runner finished but its final status never" in gms.said


def test_unreachable_lines_do_not_count_once_the_runner_reached_gms():
    # a transient error after a kickoff that landed is not a network path problem
    seen = Observations(message_id="m", datahub=[KICKOFF], task=TASK, runner_log=[UNREACHABLE_LINE])

    assert gms_unreachable_from_task(seen) is None
    assert next(h for h in judge(seen) if h.name == "GMS reachable").ok is True
