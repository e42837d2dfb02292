"""The backstop's logger and tracer (its metric is `executor_common.metrics.count`)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Tracer

logger = Logger()
#: Disables itself outside Lambda and with POWERTOOLS_TRACE_DISABLED=true (tests).
tracer = Tracer()
