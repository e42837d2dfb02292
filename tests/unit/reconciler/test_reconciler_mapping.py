"""A stopped task maps back to its run from the event alone (StopTask deletes tags)."""

from __future__ import annotations

from reconciler.mapping import map_task_to_run
from reconciler_builders import container, detail


def test_map_override_urn_wins_over_started_by():
    case = detail(urn="urn:li:dataHubExecutionRequest:from-override", startedBy="from-started-by")

    mapping = map_task_to_run(case)

    assert (mapping.urn, mapping.source) == ("urn:li:dataHubExecutionRequest:from-override", "overrides")


def test_map_without_override_uses_started_by_of_an_ingestion_task():
    case = detail(urn=None, startedBy="exec-42", group="ingestion:src-1")

    mapping = map_task_to_run(case)

    assert (mapping.urn, mapping.source) == ("urn:li:dataHubExecutionRequest:exec-42", "startedBy")


def test_map_started_by_of_a_service_task_is_not_a_run():
    # GIVEN a task some ECS service started on the same cluster
    case = detail(urn=None, startedBy="ecs-svc/9223370545345641169", group="service:web", containers=[container("web")])

    mapping = map_task_to_run(case)

    assert mapping.urn is None
    assert not mapping.ours


def test_map_started_by_without_any_sign_of_ours_is_ignored():
    case = detail(urn=None, startedBy="someone-else", group="family:other", containers=[container("app")])

    assert map_task_to_run(case).urn is None


def test_map_group_alone_proves_ours_but_names_no_run():
    case = detail(urn=None, startedBy=None, group="ingestion:src-1")

    mapping = map_task_to_run(case)

    assert mapping.urn is None
    assert mapping.ours
    assert mapping.source == "group"


def test_map_malformed_override_urn_falls_back_to_started_by():
    case = detail(urn="not-an-urn", startedBy="exec-7", group="ingestion:src")

    assert map_task_to_run(case).urn == "urn:li:dataHubExecutionRequest:exec-7"
