"""The functions' Tracer: powertools' own when tracing is on, a pass-through when it is off.

Constructing powertools' `Tracer` imports `aws_xray_sdk` (and through it botocore) even when it then
disables itself, which was about half of every function's cold start with tracing off. So the X-Ray
SDK is imported only when powertools' own rule says tracing is on (in Lambda, without
POWERTOOLS_TRACE_DISABLED=true, not under SAM local): then `make_tracer` returns a real `Tracer`,
built at import as before so that its auto-patching precedes the first client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.tracing.tracer import Tracer

F = TypeVar("F", bound=Callable[..., Any])


class DisabledTracer:
    """What a disabled `Tracer` does, without importing the X-Ray SDK: decorators return the function."""

    disabled = True

    def capture_lambda_handler(self, lambda_handler: F | None = None, **_: Any) -> Any:
        return lambda_handler if lambda_handler is not None else self.capture_lambda_handler

    def capture_method(self, method: F | None = None, **_: Any) -> Any:
        return method if method is not None else self.capture_method

    def put_annotation(self, key: str, value: Any) -> None:
        """Nothing to annotate: no segment exists while tracing is off."""

    def put_metadata(self, key: str, value: Any, namespace: str | None = None) -> None:
        """Nothing to attach: no segment exists while tracing is off."""


def make_tracer() -> Tracer | DisabledTracer:
    """A powertools `Tracer` when tracing is on by powertools' own rule, else a `DisabledTracer`."""
    # powertools' rule, not a copy of it: POWERTOOLS_TRACE_DISABLED, outside Lambda, SAM local, Chalice.
    if Tracer._is_tracer_disabled():
        return DisabledTracer()
    return Tracer()
