"""Derived task-definition revisions: deterministic family, base fields kept, secrets added once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from dispatcher.task_definitions import (
    TaskDefinitionResolver,
    derive_definition,
    derived_family,
    family_of,
)
from dispatcher_unit_helpers import BASE_ARN
from executor_common.errors import PermanentError, RetryableError

PG = {"PG_PASSWORD": "arn:aws:secretsmanager:us-east-1:1:secret:datahub-executor/PG_PASSWORD-AbCdEf"}
BASE = {
    "taskDefinitionArn": BASE_ARN,
    "family": "datahub-executor-runner",
    "revision": 7,
    "status": "ACTIVE",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "1024",
    "memory": "4096",
    "executionRoleArn": "arn:aws:iam::1:role/exec",
    "taskRoleArn": "arn:aws:iam::1:role/task",
    "volumes": [],
    "registeredAt": "2026-11-26T00:00:00Z",
    "containerDefinitions": [
        {"name": "sidecar", "image": "x"},
        {
            "name": "runner",
            "image": "runner:1",
            "secrets": [{"name": "DATAHUB_GMS_TOKEN", "valueFrom": "arn:token"}],
        },
    ],
}


def test_family_of_accepts_arns_and_family_revisions():
    assert family_of(BASE_ARN) == "datahub-executor-runner"
    assert family_of("runner:3") == "runner"


def test_derived_family_is_deterministic_and_depends_on_every_pair():
    family = derived_family(BASE_ARN, PG)
    assert family == derived_family(BASE_ARN, dict(PG))
    assert family.startswith("datahub-executor-runner-s") and len(family) == len("datahub-executor-runner-s") + 12
    assert family != derived_family(BASE_ARN, {"PG_PASSWORD": PG["PG_PASSWORD"] + "x"})
    assert family != derived_family(BASE_ARN.replace(":7", ":8"), PG)
    assert derived_family(BASE_ARN, {"A": "1", "B": "2"}) == derived_family(BASE_ARN, {"B": "2", "A": "1"})


def test_derive_definition_adds_sorted_secrets_to_the_runner_only_and_drops_read_only_fields():
    secrets = {"Z_KEY": "arn:z", **PG}
    definition = derive_definition(BASE, "runner", secrets, "fam-sx")
    assert definition["family"] == "fam-sx"
    assert "taskDefinitionArn" not in definition and "revision" not in definition and "registeredAt" not in definition
    assert "volumes" not in definition  # empty lists are not sent back
    assert definition["containerDefinitions"][0] == {"name": "sidecar", "image": "x"}
    assert definition["containerDefinitions"][1]["secrets"] == [
        {"name": "DATAHUB_GMS_TOKEN", "valueFrom": "arn:token"},
        {"name": "PG_PASSWORD", "valueFrom": PG["PG_PASSWORD"]},
        {"name": "Z_KEY", "valueFrom": "arn:z"},
    ]
    assert BASE["containerDefinitions"][1]["secrets"] == [{"name": "DATAHUB_GMS_TOKEN", "valueFrom": "arn:token"}]


def test_derive_definition_without_the_runner_container_is_permanent():
    with pytest.raises(PermanentError, match="no container named 'missing'"):
        derive_definition(BASE, "missing", PG, "f")


class FakeEcs:
    """Records calls; plays ECS for the resolver."""

    def __init__(
        self, existing: dict[str, str] | None = None, fail: Exception | None = None, race: str | None = None
    ) -> None:
        self.existing = dict(existing or {})
        self.fail = fail
        self.race = race  # an ARN another container registers while our RegisterTaskDefinition keeps racing
        self.calls: list[str] = []
        self.registered: list[dict[str, Any]] = []

    def find_active_task_definition(self, family: str) -> str | None:
        self.calls.append("describe:" + family)
        if self.fail:
            raise self.fail
        return self.existing.get(family)

    def describe_task_definition(self, arn: str) -> dict[str, Any]:
        self.calls.append("describe-base")
        return {"taskDefinition": BASE, "tags": []}

    def register_task_definition(self, definition: dict[str, Any], tags: list[dict[str, str]]) -> str:
        self.calls.append("register")
        if self.race is not None:
            self.existing[definition["family"]] = self.race
            raise RetryableError("Registering the task definition still raced other callers after 6 attempts")
        self.registered.append({"definition": definition, "tags": tags})
        arn = f"arn:aws:ecs:us-east-1:1:task-definition/{definition['family']}:1"
        self.existing[definition["family"]] = arn
        return arn


def test_resolver_no_secrets_uses_the_base_without_calls():
    ecs = FakeEcs()
    assert TaskDefinitionResolver(ecs, BASE_ARN, "runner").for_secrets({}) == BASE_ARN
    assert ecs.calls == []


def test_resolver_registers_once_then_serves_from_cache():
    ecs = FakeEcs()
    resolver = TaskDefinitionResolver(ecs, BASE_ARN, "runner")
    first = resolver.for_secrets(PG)
    second = resolver.for_secrets(dict(PG))
    assert first == second
    family = derived_family(BASE_ARN, PG)
    assert ecs.calls == [f"describe:{family}", "describe-base", "register"]
    assert ecs.registered[0]["tags"] == [
        {"key": "datahub:derived-from", "value": BASE_ARN},
        {"key": "datahub:secret-names", "value": "PG_PASSWORD"},
    ]


def test_resolver_reuses_an_active_revision_registered_by_another_container():
    family = derived_family(BASE_ARN, PG)
    ecs = FakeEcs(existing={family: f"arn:aws:ecs:us-east-1:1:task-definition/{family}:4"})
    assert TaskDefinitionResolver(ecs, BASE_ARN, "runner").for_secrets(PG).endswith(f"{family}:4")
    assert "register" not in ecs.calls


def test_resolver_throttled_describe_is_retryable():
    error = RetryableError("Looking up the task definition family failed: ThrottlingException: Rate exceeded")
    with pytest.raises(RetryableError, match="ThrottlingException"):
        TaskDefinitionResolver(FakeEcs(fail=error), BASE_ARN, "runner").for_secrets(PG)


def test_resolver_losing_a_registration_race_uses_the_revision_the_winner_registered():
    # GIVEN two containers' first runs of one new secret set; ours keeps losing RegisterTaskDefinition
    family = derived_family(BASE_ARN, PG)
    winner = f"arn:aws:ecs:us-east-1:1:task-definition/{family}:1"
    ecs = FakeEcs(race=winner)

    # THEN we run on the winner's revision (same family = same definition), not a FAILURE
    assert TaskDefinitionResolver(ecs, BASE_ARN, "runner").for_secrets(PG) == winner
    assert ecs.calls == [f"describe:{family}", "describe-base", "register", f"describe:{family}"]


def test_resolver_losing_a_race_with_no_winner_stays_retryable():
    ecs = FakeEcs()

    def register(definition, tags):
        raise RetryableError("still racing")

    ecs.register_task_definition = register
    with pytest.raises(RetryableError, match="still racing"):
        TaskDefinitionResolver(ecs, BASE_ARN, "runner").for_secrets(PG)


def test_derived_family_of_a_long_base_family_fits_ecs_255_characters():
    long_base = "arn:aws:ecs:us-east-1:1:task-definition/" + "f" * 255 + ":1"
    family = derived_family(long_base, PG)
    assert len(family) == 255 and re.fullmatch(r"f{241}-s[0-9a-f]{12}", family)
    assert family != derived_family(long_base, {"OTHER": "arn:o"})


def test_resolver_forget_drops_only_cached_derived_revisions():
    ecs = FakeEcs()
    resolver = TaskDefinitionResolver(ecs, BASE_ARN, "runner")
    arn = resolver.for_secrets(PG)
    assert resolver.forget(BASE_ARN) is False
    assert resolver.forget(arn) is True
    ecs.existing.clear()
    resolver.for_secrets(PG)
    assert ecs.calls.count("register") == 2


def test_derived_registration_is_a_request_ecs_accepts():
    # GIVEN the derived definition and tags for a long base ARN and many secrets;
    # the client validates the RegisterTaskDefinition request against ECS's model before Stubber answers
    import boto3
    from botocore.stub import ANY, Stubber
    from dispatcher.task_definitions import derived_tags
    from executor_common.aws.ecs import EcsAdapter

    secrets = {f"KEY_{i:03d}": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:k{i}-AbCdEf" for i in range(60)}
    base = {**BASE, "containerDefinitions": [{**c, "memory": 512} for c in BASE["containerDefinitions"]]}
    family = derived_family(BASE_ARN, secrets)
    definition = derive_definition(base, "runner", secrets, family)
    tags = derived_tags(BASE_ARN, secrets)
    client = boto3.client("ecs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_response(
            "register_task_definition",
            {"taskDefinition": {"taskDefinitionArn": f"arn:aws:ecs:us-east-1:1:task-definition/{family}:1"}},
            {**{k: ANY for k in definition if definition[k] not in (None, [], {})}, "family": family, "tags": tags},
        )
        EcsAdapter(client, "c").register_task_definition(definition, tags)
    assert all(len(t["value"]) <= 256 for t in tags)


def test_resolver_derives_from_the_base_it_is_given_each_described_once():
    # GIVEN the default base and the small image's base (dispatcher/images.py picks one per run)
    small_arn = BASE_ARN.replace("datahub-executor-runner:7", "datahub-executor-runner-small:2")
    small_base = {**BASE, "taskDefinitionArn": small_arn, "family": "datahub-executor-runner-small"}
    ecs = FakeEcs()
    ecs.describe_task_definition = lambda arn: (  # type: ignore[method-assign]
        ecs.calls.append("describe-base:" + arn) or {"taskDefinition": small_base if arn == small_arn else BASE}
    )
    resolver = TaskDefinitionResolver(ecs, BASE_ARN, "runner")

    # WHEN runs with one secret set launch on each base, twice
    default = [resolver.for_secrets(PG), resolver.for_secrets(PG, BASE_ARN)]
    small = [resolver.for_secrets(PG, small_arn), resolver.for_secrets(dict(PG), small_arn)]

    # THEN each base has its own derived family, registered once, and no base is described twice
    assert default[0] == default[1] and small[0] == small[1] and default[0] != small[0]
    assert [family_of(arn) for arn in (default[0], small[0])] == [
        derived_family(BASE_ARN, PG),
        derived_family(small_arn, PG),
    ]
    assert derived_family(small_arn, PG).startswith("datahub-executor-runner-small-s")
    assert ecs.calls.count("register") == 2
    assert [c for c in ecs.calls if c.startswith("describe-base")] == [
        f"describe-base:{BASE_ARN}",
        f"describe-base:{small_arn}",
    ]
    assert resolver.for_secrets({}, small_arn) == small_arn
