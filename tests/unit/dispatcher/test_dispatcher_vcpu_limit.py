"""MaxConcurrentVcpus (dispatcher/vcpu_limit.py): a number, or the account's Fargate quota read once per TTL."""

from __future__ import annotations

import pytest
from dispatcher.vcpu_limit import VcpuLimit
from dispatcher_unit_helpers import make_settings
from executor_common.errors import PermanentError, RetryableError
from pydantic import ValidationError


class FakeQuotas:
    """Service Quotas as the adapter answers it: a value, or the project's error."""

    def __init__(self, *answers: float | Exception) -> None:
        self.answers = list(answers)
        self.asked: list[bool] = []

    def fargate_vcpu_quota(self, *, spot: bool) -> float:
        self.asked.append(spot)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("raw", "parsed"), [("quota", "quota"), ("0", 0.0), ("2.5", 2.5), ("16", 16.0)])
def test_settings_vcpu_limit_takes_quota_or_a_number(raw, parsed):
    assert make_settings(max_concurrent_vcpus=raw).max_concurrent_vcpus == parsed


@pytest.mark.parametrize("raw", ["-1", "many", ""])
def test_settings_vcpu_limit_refuses_anything_else(raw):
    with pytest.raises(ValidationError):
        make_settings(max_concurrent_vcpus=raw)


def test_vcpu_limit_number_never_reads_service_quotas():
    quotas = FakeQuotas()
    limit = VcpuLimit(4.0, quotas)  # type: ignore[arg-type]
    assert limit() == 4.0
    assert quotas.asked == []


def test_vcpu_limit_quota_is_read_once_per_ttl_and_again_after_it():
    # GIVEN the default (quota), a TTL of an hour, and a quota raised from 6 to 40 meanwhile
    quotas, clock = FakeQuotas(6, 40), Clock()
    limit = VcpuLimit("quota", quotas, ttl_seconds=3600, clock=clock)  # type: ignore[arg-type]

    # WHEN many launches ask within the hour, THEN one read
    assert [limit() for _ in range(50)] == [6] * 50
    assert len(quotas.asked) == 1

    # WHEN the hour has passed, THEN it is read again
    clock.now += 3600
    assert limit() == 40
    assert len(quotas.asked) == 2


@pytest.mark.parametrize("error", [PermanentError("AccessDeniedException"), RetryableError("ConnectTimeoutError")])
def test_vcpu_limit_quota_not_readable_is_no_limit_until_the_next_read(error):
    # GIVEN a denied or unreachable Service Quotas (no servicequotas endpoint in the Lambda's VPC)
    quotas, clock = FakeQuotas(error, 8), Clock()
    limit = VcpuLimit("quota", quotas, ttl_seconds=600, clock=clock)  # type: ignore[arg-type]

    # THEN no stack limit, without asking again on every launch; the next read after the TTL may succeed
    assert [limit(), limit()] == [0.0, 0.0]
    clock.now += 600
    assert limit() == 8
    assert len(quotas.asked) == 2


@pytest.mark.parametrize(
    ("provider", "spot"), [("FARGATE", False), ("FARGATE_SPOT", True), ("FARGATE_SPOT_WITH_FALLBACK", False)]
)
def test_vcpu_limit_reads_the_quota_of_the_capacity_provider(provider, spot):
    quotas = FakeQuotas(10)
    limit = VcpuLimit.of(make_settings(max_concurrent_vcpus="quota", capacity_provider=provider), quotas)  # type: ignore[arg-type]
    assert limit() == 10
    assert quotas.asked == [spot]
