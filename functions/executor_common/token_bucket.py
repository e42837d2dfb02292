"""A token bucket: the algorithm ECS and Fargate use to throttle RunTask, and the one the dispatcher paces itself by.

AWS documents RunTask on Fargate as a bucket of 20 calls, refilled at 20 calls per second ("Amazon Fargate
throttling quotas": burst and sustained 20), per account and Region. A sequence of calls never throttled by
a bucket (capacity C, refill r) has at most C + r * t calls in any window of t seconds; and the union of
N callers each held to (C / N, r / N) is never throttled by (C, r). That is how the dispatcher keeps the
stack within the account's rate however many of its containers run: each paces itself by its share.

The same class answers "would AWS have throttled this?" in the local stack's fidelity layer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: Float slack: 0.05 s at 20 per second is one token, although 0.05 * 20 < 1 in binary floating point.
_EPSILON = 1e-9


class TokenBucket:
    """`capacity` tokens, refilled at `rate` per second; starts full. Thread-safe."""

    def __init__(
        self,
        rate: float,
        capacity: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("a token bucket needs rate > 0 and room for at least one token")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._tokens = capacity
        self._at = clock()
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + max(0.0, now - self._at) * self.rate)
        self._at = max(self._at, now)

    def try_take(self) -> bool:
        """Take a token now if there is one (AWS's side: False is a ThrottlingException)."""
        with self._lock:
            self._refill(self._clock())
            if self._tokens >= 1 - _EPSILON:
                self._tokens -= 1
                return True
            return False

    def take(self) -> float:
        """Take a token, sleeping until one is there; the seconds slept (the caller's side).

        The token is reserved before sleeping, so concurrent callers queue up instead of racing.
        """
        with self._lock:
            self._refill(self._clock())
            self._tokens -= 1
            wait = 0.0 if self._tokens >= -_EPSILON else -self._tokens / self.rate
        if wait > 0:
            self._sleep(wait)
        return wait

    def drain(self) -> None:
        """Empty the bucket (AWS just throttled us: someone else uses the account's tokens too)."""
        with self._lock:
            self._refill(self._clock())
            self._tokens = min(self._tokens, 0.0)


def container_bucket(
    rate: float,
    containers: int,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> TokenBucket:
    """One container's share of `rate`: (rate / containers) per second, half as many tokens of burst (at least one).

    The union of the shares is then a (rate / 2, rate) bucket: within RunTask's burst and sustained 20, with
    half the burst left over for the jitter between a call leaving a container and reaching AWS (calls
    paced to the microsecond still arrive bunched). With more containers than calls per second a share's
    burst is one call: the sustained rate still holds, but a moment when every container calls at once
    can reach `containers` calls.
    """
    share = rate / max(1, containers)
    return TokenBucket(share, max(1.0, share / 2), clock=clock, sleep=sleep)
