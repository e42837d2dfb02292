"""Helpers of the reconciler integration tests (a uniquely named module: `conftest` names clash across folders)."""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from typing import Any

from tests.support.aws_harness import REGION, lambda_context, sqs_event_from_sample

#: The cluster the sample events in events/ come from.
CLUSTER = "datahub-remote-executor"
LOG_GROUP = "/datahub-executor/runner"
#: A run's last log lines as the runner prints them (already masked).
RUN_LOG_LINES = [
    "[runner] starting datahub ingest for urn:li:dataHubExecutionRequest:...",
    "[ingest] Processing table analytics.events (1/340)",
    "[ingest] Processing table analytics.sessions (2/340)",
    "[ingest] password=******** connecting to warehouse",
]


def sqs_batch(*events: dict[str, Any]) -> dict[str, Any]:
    """Events wrapped the way the EventBridge rule -> SQS buffer -> Lambda event source delivers them."""
    return sqs_event_from_sample("reconciler_sqs_batch.json", [json.dumps(event) for event in events])


@dataclass
class ReconcilerStack:
    gms: Any
    logs: Any
    log_buffer: io.StringIO

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        from reconciler.handler import lambda_handler

        return lambda_handler(event, lambda_context("ReconcilerFunction", REGION))

    def invoke_backstop(self, event: dict[str, Any]) -> dict[str, Any]:
        from backstop.handler import lambda_handler

        return lambda_handler(event, lambda_context("BackstopFunction", REGION))

    def put_run_log(self, task_id: str, lines: list[str]) -> None:
        """Lines as the runner container's awslogs driver would have written them."""
        stream = f"runs/runner/{task_id}"
        self.logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        now_ms = int(time.time() * 1000)  # CloudWatch (and moto) refuse events older than 14 days
        response = self.logs.put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName=stream,
            logEvents=[{"timestamp": now_ms - len(lines) + i, "message": line} for i, line in enumerate(lines)],
        )
        assert "rejectedLogEventsInfo" not in response

    def writes(self) -> list[dict[str, Any]]:
        return self.gms.requests_to("/aspects", "ingestProposal")

    def logs_text(self) -> str:
        return self.log_buffer.getvalue()
