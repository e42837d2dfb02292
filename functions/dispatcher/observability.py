"""The dispatcher's powertools Logger, Metrics and Tracer, shared by its modules.

Configured from the template's POWERTOOLS_* environment; the Tracer disables itself
outside Lambda (and with POWERTOOLS_TRACE_DISABLED=true in tests).
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics
from executor_common.tracing import make_tracer

DEFAULT_SERVICE = "dispatcher"
DEFAULT_NAMESPACE = "DataHubRemoteExecutor"

# The template sets POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE; the defaults serve tests and local runs.
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE)
tracer = make_tracer()
