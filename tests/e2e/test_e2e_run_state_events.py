"""Run-state events through the local stack: a rule on the default bus sees each run's end (issue 15 item 3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from e2e_support import E2E_SECRET, TERMINAL

from local_stack.commands import new_execution_urn, run_command, sqlite_recipe
from tests.support.run_events import catch_run_events, caught_run_events
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def test_finished_runs_publish_their_state_with_cost_and_diagnosis_but_no_secret(stack: Any, source_db: Path) -> None:
    # GIVEN a user's rule on the default bus for the executor's events
    sqs = stack.aws.client("sqs")
    queue_url = catch_run_events(stack.aws.client("events"), sqs)
    ok, failed = new_execution_urn("e2e-event-ok"), new_execution_urn("e2e-event-failed")
    missing = sqlite_recipe("${" + E2E_SECRET + "}", pipeline_name="e2e-event-failed")
    missing["source"]["config"]["password"] = "${E2E_EVENT_NO_SUCH_SECRET}"

    # WHEN one run succeeds and one fails (its recipe names a secret nobody created)
    stack.send(run_command(ok, sqlite_recipe("${" + E2E_SECRET + "}", pipeline_name="e2e-event-ok")))
    stack.send(run_command(failed, missing))
    for urn in (ok, failed):
        stack.gms.wait_for_status(urn, TERMINAL, timeout=120)

    # THEN each end is one event with its status, duration, cost (for the task that ran) and diagnosis
    caught: dict[str, dict[str, Any]] = {}

    def both() -> bool:
        for event in caught_run_events(sqs, queue_url):
            caught.setdefault(event["detail"]["executionRequestUrn"], event)
        return ok in caught and failed in caught

    wait_until(both, 60, "the run-state events of both runs")
    good, bad = caught[ok], caught[failed]
    assert (good["source"], good["detail-type"]) == ("datahub.executor", "Ingestion Run State Change")
    assert good["detail"]["status"] == "SUCCESS" and good["detail"]["estimatedCostUsd"] > 0
    assert good["detail"]["durationMs"] > 0 and good["detail"]["taskArn"].startswith("arn:aws:ecs:")
    assert bad["detail"]["status"] == "FAILURE"
    assert "E2E_EVENT_NO_SUCH_SECRET" in bad["detail"]["diagnosis"]
    # AND no secret value (the database path) and no recipe travels in them
    assert str(source_db) not in json.dumps([good, bad])
    assert "connect_uri" not in json.dumps([good, bad])
