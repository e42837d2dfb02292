"""The dispatcher's GMS circuit breaker lives in executor_common.gms_guard (shared with the reconciler)."""

from executor_common.gms_guard import OPEN_SECONDS, CircuitBreaker, GuardedGms

__all__ = ["OPEN_SECONDS", "CircuitBreaker", "GuardedGms"]
