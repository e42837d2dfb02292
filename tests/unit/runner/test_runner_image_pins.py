"""The runner image installs what the tests ran on: its pins come from requirements/dev.lock, and its
process model agrees with the task definition (ECS's init as PID 1, the runner a subreaper under it)."""

from __future__ import annotations

import importlib.util
import re

from tests.conftest import REPO_ROOT

DOCKERFILE = (REPO_ROOT / "runner" / "Dockerfile").read_text()
LOCK = (REPO_ROOT / "requirements" / "dev.lock").read_text()


def _pin_module():
    spec = importlib.util.spec_from_file_location("pin_requirements", REPO_ROOT / "runner" / "pin_requirements.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_runner_requirements_are_generated_from_the_lock_file():
    pins = _pin_module()

    assert (REPO_ROOT / "runner" / "requirements.txt").read_text() == pins.render(LOCK), (
        "runner/requirements.txt is out of date: run python runner/pin_requirements.py"
    )


def test_dockerfile_installs_the_generated_pins_and_the_locked_cli_version():
    locked = _pin_module().locked_versions(LOCK)

    default_version = re.search(r"^ARG DATAHUB_VERSION=(\S+)$", DOCKERFILE, re.MULTILINE)
    assert default_version and default_version.group(1) == locked["acryl-datahub"]
    assert "COPY runner/requirements.txt" in DOCKERFILE and "-r /tmp/runner-requirements.txt" in DOCKERFILE
    assert "!runner/requirements.txt" in (REPO_ROOT / ".dockerignore").read_text().splitlines()
    # no other hand-written pin (uv is a tool the lock does not carry)
    pins = set(re.findall(r'"([A-Za-z0-9_.\[\]${},-]+)==', DOCKERFILE))
    assert pins == {"acryl-datahub[${DATAHUB_PLUGINS}]", "uv"}, pins


def test_dockerfile_and_task_definition_agree_on_the_init_process():
    template = (REPO_ROOT / "template.yaml").read_text()

    assert re.search(r"InitProcessEnabled:\s*true", template)
    assert "InitProcessEnabled" in DOCKERFILE and "subreaper" in DOCKERFILE
    assert "no init process" not in DOCKERFILE.lower()
    main = (REPO_ROOT / "runner" / "executor_runner" / "__main__.py").read_text()
    assert "InitProcessEnabled" in main and "PID 1 in the task" not in main
