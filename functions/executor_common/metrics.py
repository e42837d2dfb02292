"""One EMF count, for the Lambdas that emit a metric per event (the reconciler, the backstop)."""

from __future__ import annotations


def count(name: str, namespace: str, **dimensions: str) -> None:
    """Emit one EMF count of 1 (`RunsReconciled` by `Reason`, `BackstopStops`, ...).

    A single metric with its own dimensions, so no `log_metrics` flush is needed and nothing is
    emitted for events that changed nothing.
    """
    from aws_lambda_powertools import single_metric
    from aws_lambda_powertools.metrics import MetricUnit

    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=namespace) as metric:
        for key, value in dimensions.items():
            metric.add_dimension(name=key, value=value)
