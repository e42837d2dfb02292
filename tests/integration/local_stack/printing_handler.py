"""A handler that prints what a powertools function prints: a JSON log line and an EMF record."""

from __future__ import annotations

import json
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    print(json.dumps({"level": "INFO", "message": event["say"]}))
    metric = {"Namespace": "Bridge", "Dimensions": [["service"]], "Metrics": [{"Name": "Said", "Unit": "Count"}]}
    print(json.dumps({"_aws": {"Timestamp": 0, "CloudWatchMetrics": [metric]}, "service": "bridge", "Said": [1.0]}))
    return {"said": event["say"]}
