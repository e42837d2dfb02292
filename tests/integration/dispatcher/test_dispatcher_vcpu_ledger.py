"""The vCPU ledger (issue 14 item 1): MaxConcurrentVcpus is exact across dispatcher containers running in parallel,
and its default is the account's Fargate vCPU quota, read from Service Quotas once per container.

Each container runs the real record handler on batches it receives from the command queue, all at once; tasks
end as on AWS (ECS stops them, the reconciler's handler gets the STOPPED event and frees the run's vCPUs); the
backstop's handler frees entries no live task holds. The quota comes from moto's Service Quotas, which the
fidelity layer teaches the local agent's `--vcpu-quota` (FargateConditions).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dispatcher_helpers import BUCKET, REGION, configure, env_of, failed_ids, run_body, urn_of
from dispatcher_queue import command_queue as command_queue  # the fixture
from dispatcher_slots import burst_on_containers, stop_and_reconcile

from local_stack import aws_fidelity
from tests.support.aws_harness import lambda_context

LIMIT = 3  # vCPUs; every run has the stack's default size, 1 vCPU
RUNS = 24
LEDGER = "vcpus/ledger"


def _ledger(stack: Any) -> dict[str, dict[str, Any]]:
    """The ledger's runs: urn -> entry ({} when it does not exist)."""
    try:
        body = stack.s3.get_object(Bucket=BUCKET, Key=LEDGER)["Body"].read()
    except stack.s3.exceptions.NoSuchKey:
        return {}
    return dict(json.loads(body)["runs"])


def _put_ledger(stack: Any, runs: dict[str, dict[str, Any]]) -> None:
    stack.s3.put_object(Bucket=BUCKET, Key=LEDGER, Body=json.dumps({"runs": runs}).encode())


@pytest.fixture
def fargate_quota() -> Iterator[Any]:
    """Set the account's Fargate quotas as the local agent's `--vcpu-quota` does; none again afterwards."""
    yield lambda **quotas: aws_fidelity.set_fargate_conditions(aws_fidelity.FargateConditions(**quotas))
    aws_fidelity.set_fargate_conditions(None)


def _burst(
    stack: Any, queue: Any, monkeypatch: pytest.MonkeyPatch, *, ledger: bool, prefix: str, puts: Counter | None = None
) -> tuple[int, list]:
    """The burst; `puts` counts the containers' ledger writes by outcome (written, or the S3 code that refused it)."""

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["ledger"] = params.get("Key") == LEDGER

    def watch(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if puts is not None and context.get("ledger"):
            puts[parsed.get("Error", {}).get("Code", "written")] += 1

    def prepare(deps: Any) -> None:
        deps.s3.client.meta.events.register("before-parameter-build.s3.PutObject", remember)
        deps.s3.client.meta.events.register("after-call.s3.PutObject", watch)

    bodies = [run_body(f"{prefix}-{index}") for index in range(RUNS)]
    without = () if ledger else ("vcpus",)  # the control: ListTasks + DescribeTasks, as before the ledger
    environment = {"MAX_CONCURRENT_RUNS": "0", "MAX_CONCURRENT_VCPUS": str(LIMIT), "WAIT_CHECK_SECONDS": "1"}
    return burst_on_containers(stack, queue, monkeypatch, bodies, without=without, prepare=prepare, **environment)


def test_parallel_dispatchers_never_use_more_vcpus_than_the_limit_and_launch_every_run_once(
    dispatcher_stack, command_queue, monkeypatch
):
    # GIVEN MaxConcurrentVcpus 3, runs of 1 vCPU, five dispatcher containers at once and a burst of 24 runs
    puts: Counter = Counter()
    most_running, launched = _burst(dispatcher_stack, command_queue, monkeypatch, ledger=True, prefix="v", puts=puts)

    # THEN ECS never had more than 3 vCPUs of runs, every run launched exactly once, and the ledger is empty again
    print(
        f"\nvCPU ledger, limit {LIMIT}: at most {most_running} vCPUs running; {len(launched)} launched; "
        f"ledger PutObject by outcome: {dict(puts)}"
    )
    assert most_running <= LIMIT
    assert sorted(launched) == sorted(f"v-{i}" for i in range(RUNS))
    assert _ledger(dispatcher_stack) == {}
    assert command_queue.all_messages() == []


def test_control_without_the_ledger_parallel_dispatchers_can_pass_the_vcpu_limit(
    dispatcher_stack, command_queue, monkeypatch
):
    """The same burst on ListTasks + DescribeTasks alone: what the ledger prevents (skipped when no race happened)."""
    most_running, launched = _burst(dispatcher_stack, command_queue, monkeypatch, ledger=False, prefix="w")
    assert sorted(launched) == sorted(f"w-{i}" for i in range(RUNS))
    if most_running <= LIMIT:
        pytest.skip("the containers did not happen to race this time")
    print(f"\nwithout the ledger: at most {most_running} vCPUs running against a limit of {LIMIT}")


def test_each_task_carries_its_vcpus_and_a_redelivery_adds_no_second_entry(
    dispatcher_stack, command_queue, monkeypatch
):
    # GIVEN a limit of 2 vCPUs and one run launched
    configure(monkeypatch, MAX_CONCURRENT_VCPUS="2")
    body = run_body("led-1")
    assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(body))) == []
    (task,) = dispatcher_stack.tasks()
    assert env_of(task).get("EXECUTOR_VCPUS") == "1"
    assert _ledger(dispatcher_stack)[urn_of("led-1")]["vcpus"] == 1

    # WHEN SQS delivers the same message again (its second receive), and DataHub sends it twice
    assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(body, receives=2))) == []
    assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(body))) == []

    # THEN no second task and still one entry of 1 vCPU: a second run of 1 vCPU still fits
    assert len(dispatcher_stack.tasks()) == 1
    assert list(_ledger(dispatcher_stack)) == [urn_of("led-1")]
    assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(run_body("led-2")))) == []
    assert dispatcher_stack.gms.result(urn_of("led-2"))["status"] == "RUNNING"


def test_reconciler_frees_the_stopped_runs_vcpus_but_not_a_later_task_of_the_same_run(
    dispatcher_stack, command_queue, monkeypatch
):
    # GIVEN a limit of 2 vCPUs, both held by two running runs; a third run waits
    configure(monkeypatch, MAX_CONCURRENT_VCPUS="2")
    for name in ("rec-1", "rec-2", "rec-3"):
        assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(run_body(name)))) == []
    assert dispatcher_stack.gms.result(urn_of("rec-3"))["status"] == "PENDING"
    tasks = {t["startedBy"]: t for t in dispatcher_stack.tasks()}

    # WHEN rec-1's task stops
    stopped_at = datetime.now(UTC)
    stop_and_reconcile(dispatcher_stack.ecs, tasks["rec-1"]["taskArn"], stoppedAt=stopped_at)

    # THEN its vCPU is free, and the waiting run launches in it
    assert sorted(_ledger(dispatcher_stack)) == [urn_of("rec-2")]
    assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(run_body("rec-3")))) == []
    assert dispatcher_stack.gms.result(urn_of("rec-3"))["status"] == "RUNNING"

    # WHEN rec-2 holds an entry claimed after its task stopped (its on-demand re-run), and that STOPPED arrives late
    stopped_at = datetime.now(UTC)
    rerun = {"vcpus": 1, "startedBy": "rec-2", "claimedAt": (stopped_at + timedelta(seconds=1)).timestamp()}
    _put_ledger(dispatcher_stack, {**_ledger(dispatcher_stack), urn_of("rec-2"): rerun})
    stop_and_reconcile(dispatcher_stack.ecs, tasks["rec-2"]["taskArn"], stoppedAt=stopped_at)

    # THEN the re-run keeps its vCPU
    assert _ledger(dispatcher_stack)[urn_of("rec-2")]["claimedAt"] == rerun["claimedAt"]


def test_backstop_frees_a_stale_entry_and_keeps_live_and_fresh_ones(dispatcher_stack, command_queue, monkeypatch):
    from backstop import handler as backstop
    from backstop.settings import get_settings

    # GIVEN a limit of 4 and a run launched an hour ago (its entry is old, its task lives)
    configure(monkeypatch, MAX_CONCURRENT_VCPUS="4")
    assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(run_body("live-1")))) == []
    old = time.time() - 3600
    runs = _ledger(dispatcher_stack)
    runs[urn_of("live-1")]["claimedAt"] = old
    # an entry added an hour ago by a dispatcher that died before RunTask, and one added seconds ago
    runs[urn_of("died-1")] = {"vcpus": 1, "startedBy": "died-1", "claimedAt": old}
    runs[urn_of("launching-1")] = {"vcpus": 1, "startedBy": "launching-1", "claimedAt": time.time()}
    _put_ledger(dispatcher_stack, runs)

    # WHEN the backstop's schedule fires
    caches = (get_settings, backstop.get_ecs, backstop.get_slots, backstop.get_vcpus)
    for cache in caches:
        cache.cache_clear()
    try:
        backstop.lambda_handler({}, lambda_context("BackstopFunction", REGION))
    finally:
        for cache in caches:
            cache.cache_clear()

    # THEN only the stale entry is gone
    assert sorted(_ledger(dispatcher_stack)) == sorted([urn_of("live-1"), urn_of("launching-1")])


@pytest.mark.parametrize(
    ("applied", "reads"),
    [(True, ["GetServiceQuota"]), (False, ["GetServiceQuota", "GetAWSDefaultServiceQuota"])],
    ids=["adjusted", "never-adjusted"],
)
def test_default_limit_is_the_accounts_fargate_quota_read_once_and_a_launch_stays_one_ecs_call(
    dispatcher_stack, command_queue, monkeypatch, fargate_quota, applied, reads
):
    from dispatcher.handler import dependencies

    # GIVEN the template's default MaxConcurrentVcpus (quota) and an account whose Fargate On-Demand quota is 2
    # (`applied`: adjusted, so Service Quotas has an applied value; else only AWS's default)
    fargate_quota(on_demand_vcpu_quota=2, vcpu_quotas_applied=applied)
    configure(monkeypatch, MAX_CONCURRENT_VCPUS="quota", MAX_CONCURRENT_RUNS="0")
    quota_calls: list[str] = []
    quotas = dependencies().vcpu_limit.quotas  # type: ignore[union-attr]
    quotas.client.meta.events.register("before-call", lambda model, **_: quota_calls.append(model.name))
    dispatcher_stack.ecs_calls.calls.clear()

    # WHEN three runs of 1 vCPU arrive one after another
    for name in ("quo-1", "quo-2", "quo-3"):
        assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(run_body(name)))) == []

    # THEN two run and the third waits for the quota (named as the account's, so the admin knows to ask AWS for
    # more rather than raise a parameter), before asking RunTask; the quota was read once (its default when it
    # has no applied value), and each launch made one ECS call (the vCPUs in use come from the ledger, not from
    # ListTasks + DescribeTasks)
    assert [dispatcher_stack.gms.result(urn_of(n))["status"] for n in ("quo-1", "quo-2", "quo-3")] == [
        "RUNNING",
        "RUNNING",
        "PENDING",
    ]
    assert (
        "the account's Fargate On-Demand vCPU quota is 2 (MaxConcurrentVcpus=quota)"
        in (dispatcher_stack.gms.result(urn_of("quo-3"))["report"])
    )
    assert quota_calls == reads
    assert dict(dispatcher_stack.ecs_calls.calls) == {"RunTask": 2}
    assert aws_fidelity.fargate_refusals() == {}


def test_quota_not_readable_means_no_stack_limit_one_warning_and_no_extra_call(
    dispatcher_stack, command_queue, monkeypatch
):
    from dispatcher.handler import dependencies

    # GIVEN the default MaxConcurrentVcpus (quota) and Service Quotas answering NoSuchResourceException (no quota set)
    configure(monkeypatch, MAX_CONCURRENT_VCPUS="quota", MAX_CONCURRENT_RUNS="0")
    s3_calls: list[str] = []
    dependencies().s3.client.meta.events.register("before-call.s3", lambda model, **_: s3_calls.append(model.name))
    dispatcher_stack.ecs_calls.calls.clear()

    # WHEN two runs arrive
    for name in ("nq-1", "nq-2"):
        assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(run_body(name)))) == []

    # THEN both launch with one ECS call each and no S3 call (no limit: no ledger), and one WARNING says why
    assert {dispatcher_stack.gms.result(urn_of(n))["status"] for n in ("nq-1", "nq-2")} == {"RUNNING"}
    assert dict(dispatcher_stack.ecs_calls.calls) == {"RunTask": 2}
    assert s3_calls == []
    warnings = [r for r in dispatcher_stack.log_records() if "Fargate vCPU quota" in str(r.get("message"))]
    assert [r["level"] for r in warnings] == ["WARNING"]
