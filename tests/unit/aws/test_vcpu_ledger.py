"""The vCPU ledger (executor_common/aws/vcpu_ledger.py) on moto's S3: a lost conditional write re-reads and
checks the limit again, a later entry of the same run survives a late release, and the ledger is never deleted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from executor_common.aws.vcpu_ledger import LEDGER_KEY, VcpuLedger
from moto import mock_aws

BUCKET = "runs"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _ledger(s3: Any, **kwargs: Any) -> VcpuLedger:
    return VcpuLedger(s3, BUCKET, pause=lambda _: None, **kwargs)


def test_ledger_lost_race_rereads_and_the_limit_holds(s3: Any) -> None:
    # GIVEN a limit of 2 vCPUs, one run holding 1, and dispatcher A having read the ledger
    a, b = _ledger(s3, create_if_absent=True), _ledger(s3)
    assert a.claim("run-1", "r1", 1, limit=2).fresh
    seen_by_a = a.read()

    # WHEN dispatcher B adds a run first, then A tries to add another on what it read
    assert b.claim("run-2", "r2", 1, limit=2).granted
    answer = a.claim("run-3", "r3", 1, limit=2, seen=seen_by_a)

    # THEN A's conditional write failed, it read again and found no room: two runs, never three
    assert (answer.granted, answer.used) == (False, 2)
    assert sorted(a.read().entries) == ["run-1", "run-2"]


def test_ledger_redelivered_run_keeps_its_one_entry(s3: Any) -> None:
    ledger = _ledger(s3, create_if_absent=True)
    assert not ledger.exists()  # a stack that never had a vCPU limit: the backstop's sweep reads nothing
    assert ledger.claim("run-1", "r1", 2, limit=2).fresh
    assert ledger.exists()
    again = ledger.claim("run-1", "r1", 2, limit=2)
    assert (again.granted, again.fresh) == (True, False)
    assert ledger.read().used() == 2


def test_ledger_release_before_keeps_a_later_entry_and_the_empty_ledger_stays(s3: Any) -> None:
    # GIVEN a run's entry claimed at t=100
    ledger = VcpuLedger(s3, BUCKET, clock=lambda: 100.0, pause=lambda _: None, create_if_absent=True)
    ledger.claim("run-1", "r1", 1, limit=4)

    # WHEN an event of a task that stopped before it (t=50) asks to free the run, THEN the entry stays
    assert ledger.release("run-1", claimed_before=50.0) is False
    # WHEN its own task's stop (t=200) does, THEN it is freed, and the ledger object stays, empty
    assert ledger.release("run-1", claimed_before=200.0) is True
    assert ledger.read().entries == {}
    assert s3.head_object(Bucket=BUCKET, Key=LEDGER_KEY)
    assert ledger.release("run-1") is False  # nothing left to free


def test_ledger_losing_every_race_gives_up_busy_without_adding_the_run(s3: Any) -> None:
    # GIVEN another dispatcher that writes the ledger between each of A's reads and A's write (A's clock is read
    # right before A writes: the moment B's write lands)
    b = _ledger(s3, create_if_absent=True)
    others = iter(range(1000))
    a = VcpuLedger(
        s3, BUCKET, clock=lambda: b.claim(f"other-{next(others)}", "o", 0.25, limit=1000).used, pause=lambda _: None
    )

    # WHEN A tries to add its run
    answer = a.claim("run-1", "r1", 1, limit=1000)

    # THEN it gave up after MAX_ATTEMPTS lost writes, saying the ledger was busy (the run waits, never fails)
    assert (answer.granted, answer.busy) == (False, True)
    assert "run-1" not in a.read().entries
