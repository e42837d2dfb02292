"""One safe summary of a pydantic ValidationError, used by the dispatcher, the runner and the forwarder."""

from __future__ import annotations

import json

import pytest
from executor_common.contract import parse_command
from executor_common.errors import summarize_validation_error
from pydantic import ValidationError

CANARY = "canary-secret-in-a-bad-field-7d1e"


def test_summarize_validation_error_names_fields_never_inputs():
    body = {
        "entityUrn": "urn:li:dataHubExecutionRequest:x",
        "aspectName": "dataHubExecutionRequestInput",
        "aspect": {"task": CANARY, "args": {"recipe": CANARY}, "executorId": ["x"], "requestedAt": CANARY},
    }
    with pytest.raises(ValidationError) as raised:
        parse_command(json.dumps(body))
    assert CANARY in str(raised.value)  # pydantic's own text echoes the input

    summary = summarize_validation_error(raised.value)

    assert CANARY not in summary
    assert "task" in summary and "executorId" in summary and "source: Field required" in summary
