"""Concurrent deliveries from several dispatcher containers, KILLs racing launches, and redeliveries
racing the reconciler: one task or none, and DataHub shows the true status (issue 10's figures).

The sequential cases live beside these: 100 sequential deliveries and the KILL during launch in
test_dispatcher_idempotency.py / test_dispatcher_cancel.py. Here each "container" is its own
`Dependencies` (own clients and caches, as a separate Lambda container has), run on its own thread
against the same moto account (answering like ECS, RunTask clientToken included) and the GMS stand-in.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from dispatcher_helpers import PG_RECIPE, kill_body, run_body, urn_of
from executor_common.errors import RetryableError

CONTAINERS = 10
DELIVERIES = 100
CONCURRENT_REVISION = "Too many concurrent attempts to create a new revision of the specified family."


def _container() -> Any:
    """A fresh dispatcher container: what `handler.dependencies()` builds on a cold start."""
    from dispatcher.handler import dependencies

    return dependencies.__wrapped__()


def _deliver_until_consumed(bodies: list[str], containers: list[Any], rounds: int = 5) -> Counter[str]:
    """Deliver every body concurrently, each on a container in turn; what comes back is delivered again
    (as SQS would) until consumed or `rounds` receives are spent. Returns the outcomes' names."""
    from dispatcher.logic import handle_message

    outcomes: Counter[str] = Counter()
    pending = list(bodies)
    for _ in range(rounds):
        if not pending:
            break
        barrier = threading.Barrier(min(len(pending), 16))

        def one(index_body: tuple[int, str], barrier: threading.Barrier = barrier) -> str | None:
            index, body = index_body
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=1)
            try:
                outcomes[str(handle_message(body, containers[index % len(containers)]))] += 1
            except RetryableError:
                return body
            return None

        with ThreadPoolExecutor(max_workers=16) as pool:
            pending = [b for b in pool.map(one, enumerate(pending)) if b is not None]
    assert pending == [], f"{len(pending)} deliveries still coming back after {rounds} receives"
    return outcomes


@pytest.fixture
def revisions_race_like_ecs(dispatcher_stack: Any) -> Callable[[Any], None]:
    """RegisterTaskDefinition as ECS answers concurrent revisions of one family: while one is being
    created, another is refused with ClientException "Too many concurrent attempts..."."""
    from botocore.awsrequest import AWSResponse

    lock = threading.Lock()
    in_flight: Counter[str] = Counter()
    refused: list[str] = []

    def before(params: dict[str, Any], context: dict[str, Any], **_: Any) -> Any:
        family = json.loads(params["body"])["family"]
        with lock:
            if in_flight[family]:
                refused.append(family)
                error = {"Code": "ClientException", "Message": CONCURRENT_REVISION}
                return AWSResponse("https://ecs.invalid/", 400, {}, None), {
                    "Error": error,
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                }
            in_flight[family] += 1
        context["race:family"] = family
        threading.Event().wait(0.05)  # the window in which a revision is being created
        return None

    def after(context: dict[str, Any], **_: Any) -> None:
        family = context.pop("race:family", None)
        if family is not None:
            with lock:
                in_flight[family] -= 1

    def install(container: Any) -> None:
        events = container.ecs.client.meta.events
        events.register_first("before-call.ecs.RegisterTaskDefinition", before)
        events.register("after-call.ecs.RegisterTaskDefinition", after)

    install.refused = refused  # type: ignore[attr-defined]
    return install


def test_dispatcher_hundred_concurrent_deliveries_from_ten_containers_launch_one_task(dispatcher_stack):
    # GIVEN one run message delivered 100 times at once to 10 cold containers
    containers = [_container() for _ in range(CONTAINERS)]

    # WHEN they all handle it concurrently
    outcomes = _deliver_until_consumed([run_body("concurrent-plain")] * DELIVERIES, containers)

    # THEN one task, launched once; the others saw its clientToken; DataHub shows RUNNING, nothing else
    assert len(dispatcher_stack.tasks()) == 1
    assert outcomes["RunsLaunched"] + outcomes["DuplicateDeliveries"] == DELIVERIES
    assert outcomes["RunsLaunched"] >= 1
    assert set(dispatcher_stack.gms.statuses(urn_of("concurrent-plain"))) == {"RUNNING"}


def test_dispatcher_hundred_concurrent_deliveries_without_the_client_token_bridge_launch_one_task_each(
    dispatcher_stack, monkeypatch
):
    # GIVEN raw moto, which ignores RunTask's clientToken (the bridge off), and 10 cold containers
    from local_stack import aws_fidelity

    monkeypatch.setattr(aws_fidelity, "honour_client_token", False)
    containers = [_container() for _ in range(CONTAINERS)]

    # WHEN the same run message is delivered 100 times at once
    outcomes = _deliver_until_consumed([run_body("concurrent-no-token")] * DELIVERIES, containers)

    # THEN every delivery launched: only ECS's clientToken (24 h, per cluster) keeps real users at one task
    # (test_dispatcher_idempotency.py explains why nothing else may: one ECS call per launch)
    # (after the first RUNNING the others count as duplicates: DataHub already shows the run's status)
    assert len(dispatcher_stack.tasks()) == DELIVERIES
    assert outcomes["RunsLaunched"] + outcomes["DuplicateDeliveries"] == DELIVERIES


def test_dispatcher_concurrent_first_runs_of_a_new_secret_set_launch_one_task_and_no_failure(
    dispatcher_stack, revisions_race_like_ecs
):
    # GIVEN a recipe whose secret set has no task definition yet, delivered 100 times at once to 10 cold
    # containers, each registering the derived revision (ECS refuses concurrent revisions of one family)
    containers = [_container() for _ in range(CONTAINERS)]
    for container in containers:
        revisions_race_like_ecs(container)

    # WHEN
    outcomes = _deliver_until_consumed([run_body("concurrent-secrets", PG_RECIPE)] * DELIVERIES, containers)

    # THEN one task, on a revision that carries the secret; never a FAILURE (issue 10.10)
    (task,) = dispatcher_stack.tasks()
    assert "RunsRejected" not in outcomes
    statuses = dispatcher_stack.gms.statuses(urn_of("concurrent-secrets"))
    assert "FAILURE" not in statuses and "RUNNING" in statuses
    definition = dispatcher_stack.ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])
    secrets = definition["taskDefinition"]["containerDefinitions"][0]["secrets"]
    assert {s["name"] for s in secrets} >= {"PG_PASSWORD"}
    assert revisions_race_like_ecs.refused, "the race did not happen: no revision was refused"


def test_dispatcher_kill_racing_fifty_deliveries_of_its_run_leaves_no_live_task_and_cancelled(dispatcher_stack):
    # GIVEN a run delivered 50 times at once to 10 containers, and its KILL among them
    containers = [_container() for _ in range(CONTAINERS)]
    bodies = [run_body("kill-race")] * 25 + [kill_body("kill-race")] + [run_body("kill-race")] * 25

    # WHEN all are handled concurrently
    _deliver_until_consumed(bodies, containers)

    # THEN at most one task, and none left running; DataHub's last word is CANCELLED... unless the KILL
    # ran first, found no task and recorded CANCELLED, so nothing launched at all
    tasks = dispatcher_stack.tasks()
    assert len(tasks) <= 1
    assert all(task["desiredStatus"] == "STOPPED" for task in tasks)
    statuses = dispatcher_stack.gms.statuses(urn_of("kill-race"))
    if tasks:  # the runner (here: nobody) or the reconciler writes the final status on its STOPPED event
        assert "FAILURE" not in statuses
    else:
        assert statuses[-1] == "CANCELLED"


def test_dispatcher_redeliveries_racing_the_reconciler_leave_one_task_and_its_failure(dispatcher_stack, monkeypatch):
    # GIVEN a launched run whose RUNNING write was lost (GMS 503s), and whose task then stopped (runner died)
    from dispatcher.logic import handle_message
    from reconciler import handler as reconciler_handler
    from reconciler.settings import get_settings as reconciler_settings

    from local_stack.event_shapes import task_state_change_event
    from tests.support.aws_harness import ACCOUNT_ID, REGION

    urn = urn_of("recon-race")
    containers = [_container() for _ in range(4)]
    dispatcher_stack.gms.fail_next(3, 503, path_contains="ingestProposal")
    handle_message(run_body("recon-race"), containers[0])
    assert dispatcher_stack.gms.statuses(urn) == []
    (task,) = dispatcher_stack.tasks()
    dispatcher_stack.ecs.stop_task(
        cluster=task["clusterArn"], task=task["taskArn"], reason="Essential container exited"
    )
    (stopped,) = dispatcher_stack.tasks()
    stopped["lastStatus"] = "STOPPED"
    event = task_state_change_event(stopped, account=ACCOUNT_ID, region=REGION, version=3)
    monkeypatch.setenv("REPORT_GRACE_SECONDS", "0")
    reconciler_settings.cache_clear()
    reconciler_handler.get_ports.cache_clear()

    # WHEN 20 redeliveries of the run message and the reconciler's STOPPED event are handled at once
    barrier = threading.Barrier(21)

    def redeliver(index: int) -> str:
        barrier.wait(timeout=5)
        return str(handle_message(run_body("recon-race"), containers[index % len(containers)]))

    def reconcile() -> str:
        barrier.wait(timeout=5)
        return reconciler_handler.handle_event(event).action

    try:
        with ThreadPoolExecutor(max_workers=21) as pool:
            redeliveries = [pool.submit(redeliver, i) for i in range(20)]
            reconciled = pool.submit(reconcile)
            outcomes = Counter(f.result() for f in redeliveries)
            action = reconciled.result()
    finally:
        reconciler_settings.cache_clear()
        reconciler_handler.get_ports.cache_clear()

    # THEN still one task; the reconciler wrote FAILURE and nothing wrote RUNNING after it
    assert len(dispatcher_stack.tasks()) == 1
    assert "RunsLaunched" not in outcomes, outcomes
    assert action == "written"
    statuses = dispatcher_stack.gms.statuses(urn)
    assert statuses[-1] == "FAILURE", statuses
    assert "RUNNING" not in statuses[statuses.index("FAILURE") :]
