"""Canary: the GMS token never shows up in the reconciler's logs, metrics or the report it writes."""

from __future__ import annotations

import pytest
from reconciler_stack import RUN_LOG_LINES

from local_stack.gms_standin import GmsStandIn
from tests.conftest import load_event

CANARY_TOKEN = "canary-gms-token-5e1f0a"


@pytest.fixture
def gms_standin():
    """This module's DataHub answers only to the canary token."""
    with GmsStandIn(token=CANARY_TOKEN) as standin:
        yield standin


def test_reconciler_never_logs_or_reports_the_gms_token(reconciler_stack, capsys):
    event = load_event("ecs_task_stopped_oom.json")
    urn = event["detail"]["overrides"]["containerOverrides"][0]["environment"][0]["value"]
    reconciler_stack.gms.seed_result(urn, {"status": "RUNNING", "startTimeMs": 1})
    reconciler_stack.put_run_log(event["detail"]["taskArn"].rsplit("/", 1)[-1], RUN_LOG_LINES)

    reconciler_stack.invoke(event)
    reconciler_stack.invoke(event)

    result = reconciler_stack.gms.result(urn)
    assert result["status"] == "FAILURE"  # so GMS accepted the canary token on every call
    output = capsys.readouterr()
    for text in (result["report"], output.out, output.err, reconciler_stack.logs_text()):
        assert CANARY_TOKEN not in text
