"""The per-source lease (issue 14 item 2): skip, queue and replace exact across parallel dispatcher containers.

Every run below comes from events/run_ingest.json, so all share one ingestion source. Runs end as on AWS: ECS
stops the task and its STOPPED event reaches the reconciler's handler, which frees the lease; the backstop's
handler frees stale leases.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from dispatcher_helpers import BUCKET, REGION, configure, env_of, failed_ids, run_body, urn_of
from dispatcher_queue import command_queue as command_queue  # the fixture
from dispatcher_slots import CONTAINERS, burst_on_containers, stop_and_reconcile

from tests.conftest import load_event
from tests.support.aws_harness import lambda_context

POLICY = "EXECUTOR_OVERLAP_POLICY"
SOURCE = json.loads(load_event("run_ingest.json")["Records"][0]["body"])["aspect"]["source"]["ingestionSource"]
LEASE_ID = hashlib.sha256(SOURCE.encode()).hexdigest()
LEASE_KEY = f"sources/{LEASE_ID}"
RUNS = 8


def _lease(stack: Any) -> dict[str, Any] | None:
    try:
        return json.loads(stack.s3.get_object(Bucket=BUCKET, Key=LEASE_KEY)["Body"].read())
    except stack.s3.exceptions.NoSuchKey:
        return None


def _hold(stack: Any, name: str, claimed_at: float) -> None:
    """A lease held by run `name` (a dispatcher elsewhere claimed it `claimed_at`)."""
    body = {"urn": urn_of(name), "startedBy": name, "source": SOURCE, "claimedAt": claimed_at}
    stack.s3.put_object(Bucket=BUCKET, Key=LEASE_KEY, Body=json.dumps(body).encode())


def _launch(stack: Any, queue: Any, name: str, policy: str, **env: str) -> dict[str, Any]:
    assert failed_ids(queue.handle(stack, queue.deliver(run_body(name, env={POLICY: policy, **env})))) == []
    return next(t for t in stack.tasks() if t["startedBy"] == name)


def _running(stack: Any) -> list[dict[str, Any]]:
    return [t for t in stack.tasks() if t["desiredStatus"] == "RUNNING"]


# -- parallel dispatchers ----------------------------------------------------------------------
def test_queue_across_parallel_dispatchers_runs_one_at_a_time_and_each_once(
    dispatcher_stack, command_queue, monkeypatch
):
    # GIVEN five dispatcher containers at once, RunTask taking 0.3 s, and a burst of 8 runs of ONE source, queue
    bodies = [run_body(f"q-{i}", env={POLICY: "queue"}) for i in range(RUNS)]

    # WHEN they are all handled, each run ending while the others wait
    most_running, launched = burst_on_containers(
        dispatcher_stack, command_queue, monkeypatch, bodies, WAIT_CHECK_SECONDS="1"
    )

    # THEN never more than one run of the source at a time, and every run launched exactly once
    print(f"\n{CONTAINERS} containers, one source, queue: at most {most_running} running; {len(launched)} launched")
    assert most_running == 1
    assert sorted(launched) == sorted(f"q-{i}" for i in range(RUNS))
    assert _lease(dispatcher_stack) is None  # the last run's STOPPED freed it


def test_skip_across_parallel_dispatchers_launches_one_and_the_others_name_it(
    dispatcher_stack, command_queue, monkeypatch
):
    # GIVEN the same five containers and a burst of 8 runs of one source, skip
    bodies = [run_body(f"s-{i}", env={POLICY: "skip"}) for i in range(RUNS)]

    # WHEN they are all handled at once, the first launched run still going until every message was handled
    most_running, launched = burst_on_containers(
        dispatcher_stack, command_queue, monkeypatch, bodies, keep_running=True
    )

    # THEN exactly one launched; each other run ended DUPLICATE naming it
    assert most_running == 1
    (winner,) = launched
    for name in (f"s-{i}" for i in range(RUNS) if f"s-{i}" != winner):
        result = dispatcher_stack.gms.result(urn_of(name))
        assert result["status"] == "DUPLICATE", name
        assert urn_of(winner) in result["report"]


def test_control_without_the_lease_parallel_dispatchers_overlap_runs_of_one_source(
    dispatcher_stack, command_queue, monkeypatch
):
    """The same queue burst on ListTasks alone: what the lease prevents (skipped when the containers did not race)."""
    bodies = [run_body(f"c-{i}", env={POLICY: "queue"}) for i in range(RUNS)]
    most_running, launched = burst_on_containers(
        dispatcher_stack, command_queue, monkeypatch, bodies, without=("leases",), WAIT_CHECK_SECONDS="1"
    )
    assert sorted(launched) == sorted(f"c-{i}" for i in range(RUNS))
    assert _lease(dispatcher_stack) is None  # nothing read or written without the lease
    if most_running <= 1:
        pytest.skip("the containers did not happen to race this time")
    print(f"\nwithout the lease: {most_running} runs of one source at once under queue")


# -- the lease's life ----------------------------------------------------------------------------
def test_the_task_carries_the_lease_and_a_redelivery_of_the_holder_goes_on(dispatcher_stack, command_queue):
    # GIVEN a run of the source launched under queue
    task = _launch(dispatcher_stack, command_queue, "holder", "queue")
    assert env_of(task)["EXECUTOR_SOURCE_LEASE"] == LEASE_ID
    assert _lease(dispatcher_stack)["urn"] == urn_of("holder")

    # WHEN SQS delivers its message again
    body = run_body("holder", env={POLICY: "queue"})
    assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(body, receives=2))) == []

    # THEN it is the holder's own lease: nothing waits, no second task, the lease still names it
    assert command_queue.all_messages() == []
    assert len(dispatcher_stack.tasks()) == 1
    assert _lease(dispatcher_stack)["urn"] == urn_of("holder")
    assert dispatcher_stack.gms.result(urn_of("holder"))["status"] == "RUNNING"


def test_a_stale_lease_is_taken_over_and_a_fresh_one_makes_the_run_wait(dispatcher_stack, command_queue, monkeypatch):
    configure(monkeypatch, WAIT_CHECK_SECONDS="1")
    # GIVEN a lease claimed seconds ago by a run being launched elsewhere (no task yet)
    _hold(dispatcher_stack, "launching", time.time())

    # WHEN a run of the source arrives under queue, THEN it waits for that run, naming it
    command_queue.handle(dispatcher_stack, command_queue.deliver(run_body("next", env={POLICY: "queue"})))
    result = dispatcher_stack.gms.result(urn_of("next"))
    assert result["status"] == "PENDING" and urn_of("launching") in result["report"]
    assert dispatcher_stack.tasks() == []

    # WHEN that claim is an hour old and its run has no task (its dispatcher died before RunTask)
    _hold(dispatcher_stack, "launching", time.time() - 3600)
    command_queue.handle(dispatcher_stack, command_queue.receive_event(wait_seconds=3))

    # THEN the waiting run takes the lease over and launches
    assert dispatcher_stack.gms.result(urn_of("next"))["status"] == "RUNNING"
    assert _lease(dispatcher_stack)["urn"] == urn_of("next")
    assert [t["startedBy"] for t in dispatcher_stack.tasks()] == ["next"]


def test_an_old_lease_of_a_live_run_is_not_stale(dispatcher_stack, command_queue):
    # GIVEN a run going for an hour (its claim is old, its task lives)
    _launch(dispatcher_stack, command_queue, "long", "skip")
    _hold(dispatcher_stack, "long", time.time() - 3600)

    # WHEN another run of the source arrives under skip, THEN it ends DUPLICATE naming the long run
    command_queue.handle(dispatcher_stack, command_queue.deliver(run_body("late", env={POLICY: "skip"})))
    result = dispatcher_stack.gms.result(urn_of("late"))
    assert result["status"] == "DUPLICATE" and urn_of("long") in result["report"]
    assert _lease(dispatcher_stack)["urn"] == urn_of("long")


def test_replace_takes_the_lease_over_and_the_old_runs_stop_does_not_free_it(dispatcher_stack, command_queue):
    # GIVEN a run of the source going, holding the lease
    old = _launch(dispatcher_stack, command_queue, "old", "replace")

    # WHEN a run with replace arrives
    new = _launch(dispatcher_stack, command_queue, "new", "replace")

    # THEN the old task is stopped as cancelled, and the new run holds the lease and runs
    (stopped,) = [t for t in dispatcher_stack.tasks() if t["taskArn"] == old["taskArn"]]
    assert stopped["desiredStatus"] == "STOPPED" and stopped["stoppedReason"].startswith("Cancelled in DataHub")
    assert _lease(dispatcher_stack)["urn"] == urn_of("new")
    assert env_of(new)["EXECUTOR_SOURCE_LEASE"] == LEASE_ID

    # WHEN the old task's STOPPED reaches the reconciler, THEN the lease still names the new run
    stop_and_reconcile(dispatcher_stack.ecs, old["taskArn"], reason=stopped["stoppedReason"])
    assert _lease(dispatcher_stack)["urn"] == urn_of("new")

    # WHEN the new run's task stops, THEN its lease is free
    stop_and_reconcile(dispatcher_stack.ecs, new["taskArn"])
    assert _lease(dispatcher_stack) is None


def _requested_at(body: str, requested_at: int) -> str:
    """The run's body as DataHub sent it at `requested_at` (ms)."""
    command = json.loads(body)
    command["aspect"]["requestedAt"] = requested_at
    return json.dumps(command)


def test_replace_never_stops_a_newer_run_for_an_older_request_or_a_redelivery_of_the_replaced_run(
    dispatcher_stack, command_queue
):
    # GIVEN a run of the source replaced by a newer one (requested a minute later), which now holds the lease
    first, later = 1_796_000_000_000, 1_796_000_060_000
    replaced = _requested_at(run_body("replaced", env={POLICY: "replace"}), first)
    assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(replaced))) == []
    newer = _requested_at(run_body("newer", env={POLICY: "replace"}), later)
    assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(newer))) == []
    assert [t["startedBy"] for t in _running(dispatcher_stack)] == ["newer"]
    assert _lease(dispatcher_stack)["requestedAt"] == later

    # WHEN SQS delivers the replaced run's message again while its task is stopping (DataHub still shows RUNNING)
    assert dispatcher_stack.gms.result(urn_of("replaced"))["status"] == "RUNNING"
    redelivery = command_queue.deliver(replaced, receives=2)
    assert failed_ids(command_queue.handle(dispatcher_stack, redelivery)) == []

    # THEN the newer run goes on, holding the lease, and nothing is written over the replaced run (its runner
    # reports it CANCELLED)
    assert [t["startedBy"] for t in _running(dispatcher_stack)] == ["newer"]
    assert _lease(dispatcher_stack)["urn"] == urn_of("newer")
    assert dispatcher_stack.gms.result(urn_of("replaced"))["status"] == "RUNNING"

    # WHEN a request older than the holder arrives late (never launched)
    older = _requested_at(run_body("older", env={POLICY: "replace"}), first - 60_000)
    assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(older))) == []

    # THEN it ends DUPLICATE naming the newer run, launching nothing and stopping nothing
    result = dispatcher_stack.gms.result(urn_of("older"))
    assert result["status"] == "DUPLICATE"
    assert f"a newer run of this ingestion source ({urn_of('newer')}) is going" in result["report"]
    assert [t["startedBy"] for t in _running(dispatcher_stack)] == ["newer"]
    assert "older" not in [t["startedBy"] for t in dispatcher_stack.tasks()]
    assert command_queue.all_messages() == []


def test_a_spot_rerun_keeps_the_lease_and_its_end_frees_it(dispatcher_stack, command_queue, monkeypatch):
    # GIVEN a queue run on FARGATE_SPOT_WITH_FALLBACK, launched on Spot, with its request's input in DataHub
    sqs = boto3.client("sqs", region_name=REGION)
    monkeypatch.setenv("COMMAND_QUEUE_URL", command_queue.url)
    body = run_body("spot", env={POLICY: "queue", "EXECUTOR_CAPACITY_PROVIDER": "FARGATE_SPOT_WITH_FALLBACK"})
    dispatcher_stack.gms.seed_request(urn_of("spot"), json.loads(body)["aspect"])
    spot = _launch(
        dispatcher_stack, command_queue, "spot", "queue", EXECUTOR_CAPACITY_PROVIDER="FARGATE_SPOT_WITH_FALLBACK"
    )
    assert spot["capacityProviderName"] == "FARGATE_SPOT"

    # WHEN AWS reclaims it: the reconciler sends the same request back to run on on-demand
    answer = stop_and_reconcile(
        dispatcher_stack.ecs, spot["taskArn"], reason="Your Spot Task was interrupted.", stopCode="SpotInterruption"
    )
    assert answer["action"] == "rerun"

    # THEN the source stays held by that execution request meanwhile
    assert _lease(dispatcher_stack)["urn"] == urn_of("spot")
    # AND a run of the source arriving now waits; the re-run itself launches (it holds the lease)
    command_queue.send(run_body("other", env={POLICY: "queue"}))
    command_queue.handle(dispatcher_stack, command_queue.receive_event(wait_seconds=1))
    assert dispatcher_stack.gms.result(urn_of("other"))["status"] == "PENDING"
    rerun = next(t for t in dispatcher_stack.tasks() if t["taskArn"] != spot["taskArn"])
    assert rerun["launchType"] == "FARGATE" and env_of(rerun)["EXECUTOR_SOURCE_LEASE"] == LEASE_ID
    assert _lease(dispatcher_stack)["urn"] == urn_of("spot")

    # WHEN the re-run ends, THEN the lease is free for the waiting run
    stop_and_reconcile(dispatcher_stack.ecs, rerun["taskArn"])
    assert _lease(dispatcher_stack) is None
    sqs.purge_queue(QueueUrl=command_queue.url)


def test_a_failed_runtask_frees_the_lease_at_once(dispatcher_stack, command_queue, monkeypatch):
    from dispatcher.handler import dependencies

    # GIVEN RunTask failing with an ECS server error (retryable)
    def run_task(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "ServerException", "Message": "boom"}}, "RunTask")

    monkeypatch.setattr(dependencies().ecs.client, "run_task", run_task)

    # WHEN a run under queue tries to launch
    response = command_queue.handle(dispatcher_stack, command_queue.deliver(run_body("fails", env={POLICY: "queue"})))

    # THEN the message comes back to be retried, and the source is not held meanwhile
    assert failed_ids(response) != []
    assert _lease(dispatcher_stack) is None


def test_a_run_waiting_for_a_run_slot_does_not_hold_its_source(dispatcher_stack, command_queue, monkeypatch):
    # GIVEN MaxConcurrentRuns 1, taken by a run of another source
    configure(monkeypatch, MAX_CONCURRENT_RUNS="1", WAIT_CHECK_SECONDS="1")
    body = json.loads(run_body("elsewhere"))
    body["aspect"]["source"]["ingestionSource"] = "urn:li:dataHubIngestionSource:elsewhere"
    assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(json.dumps(body)))) == []

    # WHEN a run of our source arrives under skip
    command_queue.handle(dispatcher_stack, command_queue.deliver(run_body("waits", env={POLICY: "skip"})))

    # THEN it waits for the slot, and holds no lease while it waits
    assert dispatcher_stack.gms.result(urn_of("waits"))["status"] == "PENDING"
    assert _lease(dispatcher_stack) is None


def test_backstop_frees_a_stale_lease_and_keeps_a_live_one(dispatcher_stack, command_queue, monkeypatch):
    from backstop import handler as backstop
    from backstop.settings import get_settings

    # GIVEN a stale lease of another source (claimed an hour ago, no task) and our source's run going for an hour
    stale_key = f"sources/{hashlib.sha256(b'urn:li:dataHubIngestionSource:gone').hexdigest()}"
    gone = {"urn": urn_of("gone"), "startedBy": "gone", "source": "gone", "claimedAt": time.time() - 3600}
    dispatcher_stack.s3.put_object(Bucket=BUCKET, Key=stale_key, Body=json.dumps(gone).encode())
    _launch(dispatcher_stack, command_queue, "live", "queue")
    _hold(dispatcher_stack, "live", time.time() - 3600)

    # WHEN the backstop's schedule fires
    for cached in (get_settings, backstop.get_ecs, backstop.get_slots, backstop.get_leases):
        cached.cache_clear()
    try:
        backstop.lambda_handler({}, lambda_context("BackstopFunction", REGION))
    finally:
        for cached in (get_settings, backstop.get_ecs, backstop.get_slots, backstop.get_leases):
            cached.cache_clear()

    # THEN the stale lease is gone and the live run keeps its own
    listed = dispatcher_stack.s3.list_objects_v2(Bucket=BUCKET, Prefix="sources/").get("Contents", [])
    assert [item["Key"] for item in listed] == [LEASE_KEY]
    assert _lease(dispatcher_stack)["urn"] == urn_of("live")


def test_allow_and_connection_tests_touch_no_lease(dispatcher_stack, command_queue):
    from dispatcher.handler import dependencies

    s3_calls: list[str] = []
    dependencies().s3.client.meta.events.register("before-call.s3", lambda model, **_: s3_calls.append(model.name))
    dispatcher_stack.ecs_calls.calls.clear()

    # WHEN a run under allow and a connection test (under skip) launch
    _launch(dispatcher_stack, command_queue, "free", "allow")
    body = run_body("probe", env={POLICY: "skip"}, task="TEST_CONNECTION")
    assert failed_ids(command_queue.handle(dispatcher_stack, command_queue.deliver(body))) == []

    # THEN one RunTask each and no S3 call
    assert len(dispatcher_stack.tasks()) == 2
    assert s3_calls == []
    assert dict(dispatcher_stack.ecs_calls.calls) == {"RunTask": 2}
