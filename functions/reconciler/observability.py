"""The reconciler's logger and tracer (its metrics are `executor_common.metrics.count`)."""

from __future__ import annotations

from aws_lambda_powertools import Logger
from executor_common.tracing import make_tracer

logger = Logger()
#: Disables itself outside Lambda and with POWERTOOLS_TRACE_DISABLED=true (tests).
tracer = make_tracer()
