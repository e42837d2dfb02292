"""`make demo` is the README's first command: it must end with all four runs as expected, and talk throughout."""

from __future__ import annotations

import io
import re

import pytest

from local_stack.demo import DATAHUB_SECRET, DATAHUB_SECRET_VALUE, main

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def test_demo_ends_all_four_runs_as_expected_and_prints_every_status() -> None:
    out = io.StringIO()

    code = main(out=out)

    text = out.getvalue()
    assert code == 0, text[-3000:]
    assert "ok   success: SUCCESS" in text
    assert "ok   cancel: CANCELLED" in text
    assert "ok   unknown secret: FAILURE" in text
    assert "DEMO_WAREHOUSE_PASSWORD" in text  # the failure names the missing secret
    # the password came from DataHub's secret store: "ok" needs the run's report to say it read it from there
    assert "ok   DataHub-stored secret: SUCCESS" in text
    assert f"${{{DATAHUB_SECRET}}} is stored in DataHub" in text
    assert DATAHUB_SECRET_VALUE not in text  # and is masked wherever the run wrote it
    assert "creating template.yaml through moto's CloudFormation" in text  # startup talks too
    # the secret's value (the database's path) is never shown, not even in the report tails
    assert "private-source/shop.db" not in text
    # every run shows its status changes as they happen
    assert len(re.findall(r"status -> RUNNING", text)) >= 2
    assert "status -> CANCELLED" in text
