"""`make invoke` argument handling (the AWS path cannot run here: no account)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from local_stack.__main__ import parser
from local_stack.invoke import invoke_main, live_stack
from local_stack.stack import StackInfo


def test_invoke_with_aws_and_no_stack_name_explains_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("STACK_NAME", raising=False)
    event = tmp_path / "event.json"
    event.write_text("{}")

    code = invoke_main("DispatcherFunction", str(event), use_aws=True)

    assert code == 2
    assert "--stack-name NAME or STACK_NAME=NAME" in capsys.readouterr().err


def test_invoke_with_a_missing_event_file_fails_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke_main("DispatcherFunction", "events/does-not-exist.json", use_aws=True, stack_name="s") == 2
    assert "does-not-exist.json" in capsys.readouterr().err


def test_cli_parses_invoke_with_aws_and_stack_name() -> None:
    args = parser().parse_args(
        ["invoke", "ReconcilerFunction", "events/ecs_task_stopped_oom.json", "--aws", "--stack-name", "prod"]
    )

    assert (args.function, args.event, args.aws, args.stack_name) == (
        "ReconcilerFunction",
        "events/ecs_task_stopped_oom.json",
        True,
        "prod",
    )


def _info(pid: int) -> StackInfo:
    return StackInfo(
        endpoint_url="http://127.0.0.1:1",
        region="us-east-1",
        gms_url="http://127.0.0.1:2/gms",
        gms_token="t",
        gms_page="http://127.0.0.1:2/",
        queue_url="q",
        dead_letter_queue_url="d",
        cluster="c",
        task_definition_arn="td",
        log_group="lg",
        run_bucket="b",
        state_dir="/tmp/x",
        pid=pid,
    )


def test_live_stack_is_none_without_a_state_file_or_with_a_dead_endpoint(tmp_path: Path) -> None:
    state = tmp_path / "stack.json"
    assert live_stack(state) is None

    _info(os.getpid()).write(state)  # our own pid is alive, but nothing answers on port 1

    assert json.loads(state.read_text())["pid"] == os.getpid()
    assert live_stack(state) is None


def test_retarget_sample_ecs_event_points_it_at_the_local_cluster() -> None:
    from local_stack.invoke import retarget_ecs_events
    from tests.conftest import load_event

    # GIVEN the sample OOM event, made for a deployed cluster, raw and wrapped in an SQS batch
    raw = load_event("ecs_task_stopped_oom.json")
    wrapped = load_event("reconciler_sqs_batch.json")

    # WHEN retargeted at the local cluster
    local = "arn:aws:ecs:us-east-1:123456789012:cluster/local-cluster"
    retargeted_raw = retarget_ecs_events(raw, "local-cluster", "us-east-1")
    retargeted_wrapped = retarget_ecs_events(wrapped, "local-cluster", "us-east-1")

    # THEN every ECS event names the local cluster and nothing else changed
    assert retargeted_raw["detail"]["clusterArn"] == local
    assert retargeted_raw["detail"]["taskArn"] == raw["detail"]["taskArn"]
    bodies = [json.loads(r["body"]) for r in retargeted_wrapped["Records"]]
    assert bodies and all(b["detail"]["clusterArn"] == local for b in bodies if b.get("source") == "aws.ecs")
    assert retarget_ecs_events({"Records": []}, "c", "r") == {"Records": []}


def test_up_and_demo_take_fargate_room_and_spot_options_from_flags_or_environment(monkeypatch) -> None:
    from local_stack.__main__ import fleet_options
    from local_stack.aws_fidelity import FargateConditions

    # GIVEN the quota in the environment, and a Spot interruption rate as a flag
    monkeypatch.setenv("LOCAL_FARGATE_VCPU_QUOTA", "16")
    for command in ("up", "demo"):
        args = parser().parse_args([command, "--spot-interruption-rate", "0.1", "--capacity-failure-rate", "0.3"])

        # THEN the stack is given both, and nothing else is refused
        assert fleet_options(args) == {
            "fargate": FargateConditions(on_demand_vcpu_quota=16, capacity_failure_rate=0.3),
            "spot_interruption_rate": 0.1,
        }
