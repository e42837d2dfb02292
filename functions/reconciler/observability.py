"""Logger and metrics shared by the reconciler's and the backstop's entry points.

Metrics are single EMF metrics with their own dimension (one per reason), so no
`log_metrics` flush is needed and nothing is emitted for events that changed nothing.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Tracer, single_metric
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
#: Disables itself outside Lambda and with POWERTOOLS_TRACE_DISABLED=true (tests).
tracer = Tracer()


def count(name: str, namespace: str, **dimensions: str) -> None:
    """Emit one EMF count of 1 (`RunsReconciled` by `Reason`, `BackstopStops`, ...)."""
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=namespace) as metric:
        for key, value in dimensions.items():
            metric.add_dimension(name=key, value=value)
