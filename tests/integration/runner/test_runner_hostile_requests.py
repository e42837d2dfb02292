"""What a run request cannot do: send the executor's GMS token elsewhere, or steer the installer."""

from __future__ import annotations

import json

import pytest
from runner_harness import TOKEN, child, make_spec

from local_stack.commands import sqlite_recipe
from tests.conftest import unused_local_port


@pytest.mark.parametrize(
    "spelling", ["$DATAHUB_GMS_TOKEN", "${DATAHUB_GMS_TOKEN:-none}", "Bearer ${DATAHUB_GMS_TOKEN}"]
)
def test_runner_sink_to_foreign_server_with_executor_token_is_refused(runner, gms_standin, foreign_server, spelling):
    # GIVEN a recipe whose datahub-rest sink points at another server with the executor's token
    recipe = {
        "source": {"type": "file", "config": {"path": "/dev/null"}},
        "sink": {"type": "datahub-rest", "config": {"server": foreign_server.url, "token": spelling}},
    }
    spec = make_spec("foreign-sink-1", recipe)

    # WHEN it runs
    result = runner.run(spec, timeout=60)

    # THEN FAILURE saying why, and the foreign server received nothing at all
    assert result.returncode == 1
    final = gms_standin.result(spec.execution_request_urn)
    assert final["status"] == "FAILURE"
    assert "only goes to its own GMS" in final["report"].splitlines()[0]
    assert foreign_server.requests == []


def test_runner_real_cli_sink_to_foreign_server_never_carries_the_token(runner, gms_standin, foreign_server, sqlite_db):
    # GIVEN a real ingestion whose sink is another server, with no token of its own
    recipe = sqlite_recipe(str(sqlite_db), pipeline_name="sqlite-shop")
    recipe["sink"] = {"type": "datahub-rest", "config": {"server": foreign_server.url}}
    spec = make_spec("foreign-sink-2", recipe)

    # WHEN the real `datahub ingest` runs it
    result = runner.run(spec, timeout=120)

    # THEN the foreign server was talked to (so the test can fail) but never saw the executor's token
    assert foreign_server.requests, result.stdout[-3000:]
    assert not foreign_server.seen(TOKEN)
    assert gms_standin.result(spec.execution_request_urn)["status"] in {"SUCCESS", "FAILURE"}


def test_runner_installer_ignores_the_requests_index_and_proxy_variables(runner, gms_standin, foreign_server):
    # GIVEN a run that needs an install, the operator's index (nobody listens), and index and proxy variables
    # pointing at a foreign server in the run spec's extra env vars (the index ones in the container too)
    hostile = {
        "UV_INDEX_URL": f"{foreign_server.url}/simple",
        "UV_EXTRA_INDEX_URL": f"{foreign_server.url}/extra",
        "PIP_INDEX_URL": f"{foreign_server.url}/simple",
        "PIP_EXTRA_INDEX_URL": f"{foreign_server.url}/extra",
        "HTTP_PROXY": foreign_server.url,
        "http_proxy": foreign_server.url,
        "ALL_PROXY": foreign_server.url,
    }
    spec = make_spec("install-hostile-1", extra_pip_requirements=["acme-plugin==1.0"], extra_env_vars=hostile)
    index_env = {k: v for k, v in hostile.items() if k.startswith(("UV_", "PIP_"))}
    extra = {"RUNNER_PIP_INDEX_URL": f"http://127.0.0.1:{unused_local_port()}/simple", **index_env}

    result = runner.run(spec, extra, timeout=120, child=child("exit_code.py", "0"))

    # THEN the install failed against the operator's index only: the foreign server saw nothing
    assert result.returncode == 1
    first_line = gms_standin.result(spec.execution_request_urn)["report"].splitlines()[0]
    assert first_line.startswith("Run-time install failed") and "acme-plugin==1.0" in first_line
    assert foreign_server.requests == []


@pytest.mark.parametrize(
    "entry",
    [
        "--extra-index-url=http://{foreign}/simple",
        "acme @ http://{foreign}/acme-1.0-py3-none-any.whl",
        "-r /etc/passwd",
    ],
)
def test_runner_extra_pip_requirement_that_is_not_a_specifier_is_refused(runner, gms_standin, foreign_server, entry):
    entry = entry.replace("http://{foreign}", foreign_server.url)
    spec = make_spec("install-option-1", extra_pip_requirements=["requests<3", entry])

    result = runner.run(spec, timeout=60, child=child("exit_code.py", "0"))

    assert result.returncode == 1
    first_line = gms_standin.result(spec.execution_request_urn)["report"].splitlines()[0]
    assert "requirement specifiers only" in first_line and json.dumps(entry)[1:-1] in first_line
    assert foreign_server.requests == []


def test_runner_production_entry_point_has_no_child_command_switch(runner, gms_standin):
    # GIVEN the variables that once replaced `datahub ingest` with any command, in both spellings
    spec = make_spec("no-switch-1", extra_env_vars={"RUNNER_CHILD_COMMAND": '["sh", "-c", "echo PWNED-7f"]'})
    hostile = json.dumps(["sh", "-c", "echo PWNED-7f"])

    # WHEN the production entry point runs
    result = runner.run(spec, {"RUNNER_CHILD_COMMAND": hostile, "runner_child_command": hostile}, timeout=120)

    # THEN the real CLI ran, not the command
    assert "PWNED-7f" not in result.stdout + result.stderr
    assert "datahub" in result.stdout.lower()
    assert gms_standin.result(spec.execution_request_urn)["status"] in {"SUCCESS", "FAILURE"}
