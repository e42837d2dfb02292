"""The refused-test-connection result the runner and the dispatcher write, checked against DataHub's own models."""

from __future__ import annotations

import json

from datahub.ingestion.api.source import TestConnectionReport as ConnectionReport
from datahub.metadata.schema_classes import ExecutionRequestResultClass
from executor_common.test_connection import refused_test_connection


def test_refused_test_connection_is_success_with_an_internal_failure_report():
    result = refused_test_connection("The recipe references ${PG_PASSWORD}", start_time_ms=1, duration_ms=2)

    aspect = ExecutionRequestResultClass.from_obj(result.to_aspect_dict())
    assert aspect.status == "SUCCESS"
    assert aspect.structuredReport is not None and aspect.structuredReport.type == "TEST_CONNECTION"
    report = ConnectionReport(**json.loads(aspect.structuredReport.serializedValue))
    assert report.internal_failure is True
    assert report.internal_failure_reason == "The recipe references ${PG_PASSWORD}"
