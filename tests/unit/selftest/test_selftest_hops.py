"""The self-test's judgement: the first hop that failed, in plain words, with its fix."""

from __future__ import annotations

import pytest

from selftest.hops import Observations, judge, render

TASK = {"taskArn": "arn:aws:ecs:us-east-1:1:task/c/abc", "lastStatus": "STOPPED", "startedAt": "2026-12-04T10:00:00Z"}
KICKOFF = ("RUNNING", "Run started by executor 'remote' in ECS task ...")


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
