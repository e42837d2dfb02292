"""With a state file, what GMS stored survives a restart (the local stack's `make local-up` relies on it)."""

from __future__ import annotations

import json
from pathlib import Path

from executor_common.gms import GmsClient
from executor_common.results import ExecutionRequestResult

from local_stack.gms_standin import GmsStandIn
from tests.support.waiting import wait_until


def test_standin_restart_with_state_file_keeps_results_and_history(tmp_path: Path, execution_urn: str) -> None:
    state_file = tmp_path / "state" / "gms.json"
    first = GmsStandIn(token="t1", state_file=str(state_file)).start()
    try:
        client = GmsClient(first.url, "t1", session_retries=0)
        client.write_result(execution_urn, ExecutionRequestResult(status="RUNNING"))
        client.write_result(execution_urn, ExecutionRequestResult(status="SUCCESS", report="done"))
        port = first.port
    finally:
        first.stop()

    second = GmsStandIn(token="t1", state_file=str(state_file), port=port).start()
    try:
        read = GmsClient(second.url, "t1", session_retries=0).read_result(execution_urn)
        assert read is not None and (read.status, read.report) == ("SUCCESS", "done")
        assert second.statuses(execution_urn) == ["RUNNING", "SUCCESS"]
        assert second.proposals == 2
        assert execution_urn in second.render_page()
    finally:
        second.stop()


def test_state_file_is_valid_json_with_no_leftover_temporary_files(tmp_path: Path, execution_urn: str) -> None:
    state_file = tmp_path / "gms.json"
    with GmsStandIn(state_file=str(state_file)) as standin:
        client = GmsClient(standin.url, standin.token, session_retries=0)
        for _ in range(5):
            client.write_result(execution_urn, ExecutionRequestResult(status="RUNNING"))

    state = json.loads(state_file.read_text())
    assert len(state["entities"][execution_urn]["aspects"]["dataHubExecutionRequestResult"]) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gms.json"]


def test_standin_without_state_file_starts_empty_each_time(execution_urn: str) -> None:
    with GmsStandIn() as standin:
        standin.seed_result(execution_urn, {"status": "SUCCESS"})
    with GmsStandIn() as fresh:
        assert fresh.result(execution_urn) is None


def test_state_file_catches_up_shortly_after_a_write_without_a_stop(tmp_path: Path, execution_urn: str) -> None:
    state_file = tmp_path / "gms.json"
    with GmsStandIn(state_file=str(state_file)) as standin:
        GmsClient(standin.url, standin.token, session_retries=0).write_result(
            execution_urn, ExecutionRequestResult(status="RUNNING")
        )

        wait_until(
            lambda: state_file.exists() and execution_urn in state_file.read_text(), 5, "the write in the state file"
        )

        assert execution_urn in json.loads(state_file.read_text())["entities"]
