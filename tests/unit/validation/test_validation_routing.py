"""route(): whose message it is and whether it can be read, decided before the full parse (issue 10.11, 11.7)."""

from __future__ import annotations

import json
import time

import pytest
from dispatcher.routing import Foreign, Ignored, Parsed, Unparseable, route
from executor_common.json_peek import top_level_members

from tests.conftest import load_event

URN = "urn:li:dataHubExecutionRequest:3f1c2a9e-8d7b-4e6a-b5c4-1a2b3c4d5e6f"


def _run(executor_id: str = "remote", **aspect_changes) -> dict:
    body = json.loads(load_event("run_ingest.json")["Records"][0]["body"])
    body["entityUrn"] = URN
    body["aspect"]["executorId"] = executor_id
    body["aspect"].update(aspect_changes)
    return body


def _kill(**aspect_changes) -> dict:
    body = json.loads(load_event("cancel.json")["Records"][0]["body"])
    body["entityUrn"] = URN
    body["aspect"].update(aspect_changes)
    return body


def _with_raw(body: dict, raw: str, where: str = "aspect") -> str:
    """The body with `"x": <raw>` added inside `where` (raw JSON that json.dumps cannot make)."""
    text = json.dumps(body)
    marker = '"executorId"' if where == "aspect" else '"entityUrn"'
    return text.replace(marker, f'"x": {raw}, {marker}', 1)


def test_route_well_formed_run_for_this_executor_is_parsed():
    decision = route(json.dumps(_run()), "remote")
    assert isinstance(decision, Parsed) and not decision.maybe_ours


def test_route_deep_nesting_is_unparseable_with_its_urn_not_a_recursion_error():
    body = _with_raw(_run(), "[" * 5000 + "]" * 5000)
    decision = route(body, "remote")
    assert isinstance(decision, Unparseable) and decision.urn == URN


def test_route_number_of_5000_digits_still_yields_the_urn():
    decision = route(_with_raw(_run(), "9" * 5000), "remote")
    assert isinstance(decision, Unparseable) and decision.urn == URN
    assert "number" in decision.reason


@pytest.mark.parametrize("raw", ["[" * 5000 + "]" * 5000, "9" * 5000, '"unterminated'])
def test_route_malformed_message_for_another_executor_is_foreign(raw):
    body = _with_raw(_run(executor_id="default"), raw)
    if raw.startswith('"'):
        body = json.dumps(_run(executor_id="default", task=123))  # well delimited, wrong type
    decision = route(body, "remote")
    assert isinstance(decision, Foreign) and decision.executor_id == "default"


def test_route_generic_aspect_form_is_routed_by_its_inner_executor_id():
    body = _run(executor_id="default", task=123, requestedAt="9" * 5000)  # malformed inside
    body["aspect"] = {"value": json.dumps(body["aspect"]), "contentType": "application/json"}
    assert isinstance(route(json.dumps(body), "remote"), Foreign)


def test_route_kill_without_executor_id_is_maybe_ours():
    body = _kill()
    del body["aspect"]["executorId"]
    decision = route(json.dumps(body), "remote")
    assert isinstance(decision, Parsed) and decision.maybe_ours


def test_route_malformed_kill_is_ignored_never_failed():
    body = _kill(createdAt="yesterday")
    decision = route(json.dumps(body), "remote")
    assert isinstance(decision, Ignored) and decision.urn == URN


@pytest.mark.parametrize("task", ["ASSERTION_MONITOR", "RUN_MONITOR_EVALUATION", "x" * 10_000])
def test_route_unknown_task_type_is_ignored_not_failed(task):
    decision = route(json.dumps(_run(task=task)), "remote")
    assert isinstance(decision, Ignored) and "unknown task type" in decision.reason
    assert len(decision.reason) < 200


@pytest.mark.parametrize(
    "body",
    [
        '{"entityUrn": "' + URN + '", "aspect": {"task": "RUN_INGEST"',  # truncated: executor unknown
        "not json at all",
        "",
        "[]",
        '{"entityUrn": 12}',
    ],
)
def test_route_unreadable_urn_is_unparseable_without_urn(body):
    decision = route(body, "remote")
    assert isinstance(decision, Unparseable) and decision.urn is None


@pytest.mark.parametrize(
    "text",
    [
        "{" * 20_000,
        '{"a": "' + "\\" * 20_001,
        '{"a": ' + '"\\"' * 7_000,
        '{"a": [' + '"' * 20_001,
        '{"a": ' + "9" * 20_000 + "}",
        '{"a": {' + '"k": [], ' * 4_000 + "}}",
        '{"' + "a" * 20_000,
        '{"a":' + " " * 20_000,
    ],
)
def test_top_level_members_is_linear_on_hostile_input(text):
    started = time.perf_counter()
    top_level_members(text)
    route(text, "remote")
    assert time.perf_counter() - started < 0.5


def test_top_level_members_reads_only_the_top_level():
    members = top_level_members('{"a": {"b": [1, "}"]}, "c": "x\\"y", "d": 1e5, "a": null}')
    assert members == {"a": "null", "c": '"x\\"y"', "d": "1e5"}
    assert top_level_members('{"a": 1} trailing') is None
    assert top_level_members('{"a": 1,}') is None


@pytest.mark.parametrize("raw", ["[" * 5000 + "]" * 5000, "9" * 5000])
def test_route_generic_aspect_with_hostile_inner_json_is_unparseable_with_its_urn(raw):
    inner = json.dumps(_run()["aspect"]).replace('"executorId"', f'"x": {raw}, "executorId"', 1)
    body = {**_run(), "aspect": {"value": inner, "contentType": "application/json"}}
    decision = route(json.dumps(body), "remote")
    assert isinstance(decision, Unparseable) and decision.urn == URN
