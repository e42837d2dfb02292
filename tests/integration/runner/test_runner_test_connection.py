"""A TEST_CONNECTION that cannot run shows its reason in DataHub's test-connection modal, as DataHub's own
executor reports it: SUCCESS with a TEST_CONNECTION structured report carrying `internal_failure`."""

from __future__ import annotations

import json

import pytest
from datahub.ingestion.api.source import TestConnectionReport as ConnectionReport
from runner_harness import child, make_spec


@pytest.mark.parametrize(
    ("recipe", "fields", "extra", "reason"),
    [
        pytest.param(
            {"source": {"type": "file", "config": {"password": "${SHOP_DB_PASSWORD}"}}},
            {},
            {},
            "${SHOP_DB_PASSWORD}",
            id="unknown-secret",
        ),
        pytest.param({"sink": {"type": "console"}}, {}, {}, "no 'source' section", id="bad-recipe"),
        pytest.param(
            None,
            {"version": "1.6.0"},
            {"RUNNER_ALLOW_RUNTIME_INSTALLS": "false"},
            "run-time installs are disabled",
            id="no-install",
        ),
    ],
)
def test_runner_test_connection_refusal_is_an_internal_failure_report(
    runner, gms_standin, recipe, fields, extra, reason
):
    spec = make_spec("test-conn-refused", recipe, task="TEST_CONNECTION", **fields)

    result = runner.run(spec, extra, timeout=60, child=child("exit_code.py", "0"))

    # THEN SUCCESS with a TEST_CONNECTION report DataHub's own model reads as an internal failure with the reason
    final = gms_standin.result(spec.execution_request_urn)
    assert final["status"] == "SUCCESS", final["report"][:500]
    assert final["structuredReport"]["type"] == "TEST_CONNECTION"
    report = ConnectionReport(**json.loads(final["structuredReport"]["serializedValue"]))
    assert report.internal_failure is True
    assert reason in (report.internal_failure_reason or "")
    assert "Pipeline finished" not in result.stdout  # the child never ran
