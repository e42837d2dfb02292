"""The runner's start does no avoidable work: the plugin check reads names without packaging's parser."""

from __future__ import annotations

import subprocess
import sys

from packaging.requirements import InvalidRequirement, Requirement

from tests.conftest import REPO_ROOT


def test_plugin_requirement_names_match_packaging_on_every_line_of_acryl_datahub_metadata() -> None:
    from executor_runner import plugins

    lines = plugins.datahub_requirements()
    differing = []
    for raw in lines:
        name = plugins.requirement_name(raw)
        try:
            expected: str | None = Requirement(raw).name
        except InvalidRequirement:
            expected = None
        if name != expected:
            differing.append(raw)

    assert len(lines) > 100 and differing == []


def test_plugin_available_imports_no_packaging() -> None:
    # GIVEN a fresh runner process WHEN it checks an extra with requirements (sqlalchemy) THEN packaging stays out
    code = (
        "import sys\n"
        "from executor_runner.plugins import plugin_available\n"
        "assert plugin_available('sqlalchemy')\n"
        "assert 'packaging.requirements' not in sys.modules, 'packaging imported'\n"
    )
    path = f"{REPO_ROOT / 'runner'}:{REPO_ROOT / 'functions'}"
    done = subprocess.run(
        [sys.executable, "-c", code], env={"PYTHONPATH": path, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
