"""The token bucket that paces RunTask (issue 14 item 5): each container's share, and what AWS's bucket makes of it.

AWS documents Fargate's RunTask quota as a token bucket of 20 calls refilled at 20 calls per second
("Amazon Fargate throttling quotas"); these tests replay calls on a fake clock against such a bucket.
"""

from __future__ import annotations

import pytest
from executor_common.token_bucket import TokenBucket, container_bucket


class FakeClock:
    """Monotonic seconds that move only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_token_bucket_burst_then_sustained_rate() -> None:
    # GIVEN a bucket of 4 tokens refilled at 4 per second
    clock = FakeClock()
    bucket = TokenBucket(4, 4, clock=clock, sleep=clock.sleep)
    # WHEN 12 calls take a token as fast as they may
    waits = [bucket.take() for _ in range(12)]
    # THEN the first 4 go at once and the next 8 one every quarter second
    assert waits[:4] == [0, 0, 0, 0]
    assert waits[4:] == pytest.approx([0.25] * 8)
    assert clock.now - 1000.0 == pytest.approx(2.0)


def test_token_bucket_try_take_refuses_when_empty_and_refills() -> None:
    clock = FakeClock()
    bucket = TokenBucket(20, 20, clock=clock, sleep=clock.sleep)
    assert all(bucket.try_take() for _ in range(20))
    assert not bucket.try_take()  # AWS: ThrottlingException
    clock.now += 0.05
    assert bucket.try_take()  # one token back after 1/20 s
    assert not bucket.try_take()


def test_token_bucket_drain_makes_the_next_call_wait() -> None:
    clock = FakeClock()
    bucket = TokenBucket(4, 4, clock=clock, sleep=clock.sleep)
    bucket.drain()
    assert bucket.take() == pytest.approx(0.25)


@pytest.mark.parametrize(("rate", "containers"), [(20, 5), (20, 2), (20, 10), (10, 3)])
def test_container_shares_together_are_never_throttled_by_the_account_bucket(rate: float, containers: int) -> None:
    # GIVEN `containers` dispatchers, each paced by its share of `rate`, and AWS's bucket (burst = sustained = rate)
    clock = FakeClock()
    shares = [container_bucket(rate, containers, clock=clock, sleep=lambda _s: None) for _ in range(containers)]
    aws = TokenBucket(rate, rate, clock=clock)
    # WHEN every container launches as fast as its share lets it (a backlog), time moving on
    next_at = [clock.now] * containers
    calls, throttled = 0, 0
    while calls < 30 * rate:
        index = min(range(containers), key=lambda i: next_at[i])
        clock.now = max(clock.now, next_at[index])
        wait = shares[index].take()
        clock.now += wait
        calls += 1
        throttled += not aws.try_take()
        next_at[index] = clock.now
    # THEN AWS never throttles, and the stack's rate is the configured one
    assert throttled == 0
    elapsed = clock.now - 1000.0
    assert (calls - rate / 2) / elapsed == pytest.approx(rate, rel=0.05)


def test_more_containers_than_calls_per_second_keep_a_one_call_burst_each() -> None:
    clock = FakeClock()
    bucket = container_bucket(20, 50, clock=clock, sleep=clock.sleep)
    assert (bucket.rate, bucket.capacity) == (0.4, 1.0)
    assert [bucket.take(), bucket.take()] == [0, pytest.approx(2.5)]
