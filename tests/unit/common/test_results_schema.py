"""Our pydantic ExecutionRequestResult is exactly what DataHub's own schema class accepts."""

from __future__ import annotations

import json

import pytest
from datahub.metadata.schema_classes import ExecutionRequestResultClass, StructuredExecutionReportClass
from executor_common.results import MAX_STRUCTURED_REPORT_CHARS, ExecutionRequestResult, StructuredExecutionReport
from executor_common.status import ExecutionStatus


def _full_result(status: ExecutionStatus = ExecutionStatus.SUCCESS) -> ExecutionRequestResult:
    return ExecutionRequestResult(
        status=status,
        report="~~~~ Execution Summary ~~~~\nPipeline finished successfully",
        structuredReport=StructuredExecutionReport(
            type="CLI_INGEST", serializedValue=json.dumps({"source": {"events_produced": 21}})
        ),
        startTimeMs=1_764_140_000_000,
        durationMs=12_345,
    )


def test_result_aspect_dict_with_every_field_is_accepted_by_datahubs_schema() -> None:
    aspect = _full_result().to_aspect_dict()

    decoded = ExecutionRequestResultClass.from_obj(aspect)

    assert decoded.validate()
    assert decoded.status == "SUCCESS"
    assert decoded.structuredReport.type == "CLI_INGEST"
    assert decoded.structuredReport.contentType == "application/json"
    assert (decoded.startTimeMs, decoded.durationMs) == (1_764_140_000_000, 12_345)


def test_result_aspect_json_round_trips_through_datahubs_schema_unchanged() -> None:
    result = _full_result()

    decoded = ExecutionRequestResultClass.from_obj(json.loads(result.to_aspect_json()))

    assert {k: v for k, v in decoded.to_obj().items() if v is not None} == result.to_aspect_dict()


@pytest.mark.parametrize("status", list(ExecutionStatus))
def test_result_with_only_a_status_is_accepted_for_every_status(status: ExecutionStatus) -> None:
    aspect = ExecutionRequestResult(status=status).to_aspect_dict()

    assert aspect == {"status": status.value}
    assert ExecutionRequestResultClass.from_obj(aspect).validate()


def test_bounded_result_is_still_accepted_by_datahubs_schema() -> None:
    huge = _full_result(ExecutionStatus.FAILURE).model_copy(
        update={
            "report": "x\n" * 100_000,
            "structuredReport": StructuredExecutionReport(type="CLI_INGEST", serializedValue="y" * 500_000),
        }
    )

    aspect = huge.bounded().to_aspect_dict()

    assert "structuredReport" not in aspect
    assert ExecutionRequestResultClass.from_obj(aspect).validate()


def test_result_model_fields_mirror_datahubs_record_fields() -> None:
    datahub_fields = {f.name for f in ExecutionRequestResultClass.RECORD_SCHEMA.fields}
    structured_fields = {f.name for f in StructuredExecutionReportClass.RECORD_SCHEMA.fields}

    assert set(ExecutionRequestResult.model_fields) <= datahub_fields
    assert set(StructuredExecutionReport.model_fields) == structured_fields


def test_bounded_trims_an_oversized_json_structured_report_field_by_field() -> None:
    # GIVEN a structured report over the limit: counts, a long warning list, a huge list, a huge string
    document = {
        "source": {
            "report": {
                "events_produced": 123_456,
                "warnings": [{"title": f"w{i}", "context": ["c" * 50] * 300} for i in range(400)],
                "tables_scanned": [f"shop.public.t{i:07d}" for i in range(50_000)],
                "notes": "n" * 100_000,
            }
        }
    }
    huge = ExecutionRequestResult(
        status=ExecutionStatus.SUCCESS,
        structuredReport=StructuredExecutionReport(type="RUN_INGEST", serializedValue=json.dumps(document)),
    )

    bounded = huge.bounded()

    # THEN it is kept, within the limit, with the counts whole and the lists and strings cut with a note
    assert bounded.structuredReport is not None
    serialized = bounded.structuredReport.serializedValue
    assert len(serialized) <= MAX_STRUCTURED_REPORT_CHARS
    report = json.loads(serialized)["source"]["report"]
    assert report["events_produced"] == 123_456
    assert report["warnings"][0]["title"] == "w0"
    assert "more entries cut" in report["warnings"][-1]
    assert "more entries cut" in report["tables_scanned"][-1]
    assert "characters cut" in report["notes"]
    assert ExecutionRequestResultClass.from_obj(bounded.to_aspect_dict()).validate()
