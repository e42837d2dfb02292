"""The queue contract: DataHub's execution-request aspects, parsed as DataHub sends them."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from executor_common.contract import (
    RunArgs,
    RunCommand,
    SignalCommand,
    execution_id_from_urn,
    parse_command,
    recover_execution_urn,
)
from pydantic import ValidationError

URN = "urn:li:dataHubExecutionRequest:5a7c1e2b-run"
RUN: dict[str, Any] = {
    "entityUrn": URN,
    "aspectName": "dataHubExecutionRequestInput",
    "aspect": {
        "task": "RUN_INGEST",
        "args": {
            "recipe": json.dumps({"source": {"type": "sqlalchemy", "config": {}}}),
            "version": "1.7.0.17",
            "debug_mode": "false",
            "extra_env_vars": json.dumps({"EXECUTOR_TASK_MEMORY": "8192", "FOO": "bar"}),
            "extra_pip_requirements": json.dumps(["acryl-datahub[snowflake]==1.7.0.17"]),
        },
        "executorId": "remote",
        "source": {"type": "MANUAL_INGESTION_SOURCE", "ingestionSource": "urn:li:dataHubIngestionSource:abc"},
        "requestedAt": 1_764_140_000_000,
        "actorUrn": "urn:li:corpuser:datahub",
    },
}
SIGNAL: dict[str, Any] = {
    "entityUrn": URN,
    "aspectName": "dataHubExecutionRequestSignal",
    "aspect": {"signal": "KILL", "executorId": "remote", "createdAt": {"time": 1, "actor": "urn:li:corpuser:datahub"}},
}


def _run(**args: str) -> dict[str, Any]:
    body = copy.deepcopy(RUN)
    body["aspect"]["args"].update(args)
    return body


def test_parse_command_run_gives_typed_args() -> None:
    command = parse_command(json.dumps(RUN))

    assert isinstance(command, RunCommand)
    assert command.execution_id == "5a7c1e2b-run"
    assert command.executor_id == "remote"
    args = RunArgs.from_input(command.aspect)
    assert args.extra_env_vars == {"EXECUTOR_TASK_MEMORY": "8192", "FOO": "bar"}
    assert args.extra_pip_requirements == ["acryl-datahub[snowflake]==1.7.0.17"]
    assert args.debug_mode is False


def test_parse_command_signal_gives_a_signal_command() -> None:
    command = parse_command(SIGNAL)

    assert isinstance(command, SignalCommand)
    assert command.aspect.signal == "KILL"


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("TRUE", True), ("false", False), ("", False)])
def test_run_args_debug_mode_alias_is_accepted(raw: str, expected: bool) -> None:
    body = _run()
    del body["aspect"]["args"]["debug_mode"]
    body["aspect"]["args"]["debugMode"] = raw

    args = RunArgs.from_input(parse_command(body).aspect)

    assert args.debug_mode is expected


def test_run_args_debug_mode_not_a_boolean_is_refused() -> None:
    with pytest.raises(ValidationError, match="debug_mode"):
        RunArgs.from_input(parse_command(_run(debug_mode="yes")).aspect)


def test_parse_command_tolerates_unknown_extra_fields_everywhere() -> None:
    body = copy.deepcopy(RUN)
    body["newTopLevel"] = 1
    body["aspect"]["newAspectField"] = {"nested": True}
    body["aspect"]["source"]["newSourceField"] = "x"
    body["aspect"]["args"]["new_arg"] = "y"

    command = parse_command(body)

    assert isinstance(command, RunCommand)
    assert RunArgs.from_input(command.aspect).recipe == RUN["aspect"]["args"]["recipe"]


def test_parse_command_accepts_the_generic_aspect_envelope() -> None:
    body = copy.deepcopy(RUN)
    body["aspect"] = {"value": json.dumps(RUN["aspect"]), "contentType": "application/json"}

    command = parse_command(body)

    assert isinstance(command, RunCommand)
    assert command.aspect.requestedAt == RUN["aspect"]["requestedAt"]


@pytest.mark.parametrize(
    "value", [pytest.param(1, id="int"), pytest.param({"A": "b"}, id="dict"), pytest.param(["x"], id="list")]
)
def test_parse_command_args_values_must_be_strings(value: Any) -> None:
    body = copy.deepcopy(RUN)
    body["aspect"]["args"]["extra_env_vars"] = value

    with pytest.raises(ValidationError):
        parse_command(body)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("extra_env_vars", "not json"),
        ("extra_env_vars", json.dumps(["a list"])),
        ("extra_env_vars", json.dumps({"A": {"nested": 1}})),
        ("extra_pip_requirements", json.dumps({"not": "a list"})),
        ("extra_pip_requirements", json.dumps([""])),
    ],
)
def test_run_args_badly_encoded_strings_are_refused(name: str, value: str) -> None:
    with pytest.raises(ValidationError, match=name):
        RunArgs.from_input(parse_command(_run(**{name: value})).aspect)


def test_run_args_empty_strings_mean_empty() -> None:
    args = RunArgs.from_input(parse_command(_run(extra_env_vars="", extra_pip_requirements="", version="")).aspect)

    assert (args.extra_env_vars, args.extra_pip_requirements, args.version) == ({}, [], None)


def test_run_args_without_recipe_is_refused() -> None:
    body = copy.deepcopy(RUN)
    del body["aspect"]["args"]["recipe"]

    with pytest.raises(ValueError, match="recipe"):
        RunArgs.from_input(parse_command(body).aspect)


@pytest.mark.parametrize(
    "urn",
    [
        "urn:li:dataset:abc",
        "urn:li:dataHubExecutionRequest:",
        "urn:li:dataHubExecutionRequest:has space",
        "",
        None,
    ],
)
def test_parse_command_bad_urn_is_refused(urn: Any) -> None:
    body = copy.deepcopy(RUN)
    body["entityUrn"] = urn

    with pytest.raises(ValidationError):
        parse_command(body)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({**RUN, "aspectName": "somethingElse"}, id="unknown-aspect-name"),
        pytest.param({**RUN, "aspect": {**RUN["aspect"], "task": "DANCE"}}, id="unknown-task"),
        pytest.param("{not json", id="not-json"),
    ],
)
def test_parse_command_malformed_messages_are_refused(body: Any) -> None:
    with pytest.raises((ValidationError, ValueError)):
        parse_command(body if isinstance(body, str) else json.dumps(body))


def test_recover_execution_urn_finds_the_urn_of_an_unparseable_message() -> None:
    assert recover_execution_urn(json.dumps({"entityUrn": URN, "aspectName": "bogus"})) == URN
    assert recover_execution_urn("{not json") is None
    assert recover_execution_urn(json.dumps({"entityUrn": "urn:li:dataset:x"})) is None


def test_execution_id_from_urn_strips_the_prefix() -> None:
    assert execution_id_from_urn(URN) == "5a7c1e2b-run"
