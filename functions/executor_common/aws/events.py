"""The EventBridge adapter: PutEvents of the run-state events (`executor_common.run_event`)."""

from __future__ import annotations

import json
from typing import Any

from executor_common.aws import make_client
from executor_common.aws.classify import aws_call
from executor_common.errors import RetryableError
from executor_common.run_event import DETAIL_TYPE, EVENT_SOURCE


def make_events_client(region_name: str | None = None) -> Any:
    return make_client("events", region_name)


class EventsAdapter:
    def __init__(self, client: Any) -> None:
        self.client = client

    def put_run_state(self, bus_name: str, detail: dict[str, Any]) -> None:
        """One event on `bus_name`; RetryableError when EventBridge refused it (PutEvents answers 200 then)."""
        entry = {
            "Source": EVENT_SOURCE,
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(detail),
            "EventBusName": bus_name,
        }
        with aws_call(f"Publishing the run-state event to EventBridge bus {bus_name} (PutEvents)"):
            response = self.client.put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            failed = (response.get("Entries") or [{}])[0]
            raise RetryableError(f"EventBridge refused the run-state event: {failed.get('ErrorCode')}")
