"""`make setup` on a fresh machine: only Python 3.11 and pip, no uv (issue 9 item 1).

make expands a recipe whole before its first line runs, so a probe for uv inside the recipe sees
the machine before uv was installed. These tests read what make would run (`make -n -B`) with uv
hidden (`UV_ON_PATH=`, what .ci/run does for real) and check that uv is bootstrapped into its own
venv with pip and that every install names the venv it fills.
"""

from __future__ import annotations

import subprocess

from tests.conftest import REPO_ROOT


def planned_setup_commands() -> list[str]:
    """The commands `make setup` would run on a machine without uv, in order."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", "setup", "UV_ON_PATH="],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def test_setup_without_uv_bootstraps_uv_into_its_own_venv_first() -> None:
    commands = planned_setup_commands()
    first_uv = next(i for i, c in enumerate(commands) if c.startswith(".uv/bin/uv "))

    assert commands[:2] == [
        "python3.11 -m venv .uv",
        ".uv/bin/python -m pip install --quiet --disable-pip-version-check uv==0.13.9",
    ]
    assert first_uv == 2


def test_setup_without_uv_installs_only_into_named_venvs() -> None:
    commands = planned_setup_commands()
    installs = [c for c in commands if " pip install " in c]

    assert [c for c in commands if "python3.11 -m uv" in c or "VIRTUAL_ENV=" in c] == []
    assert [c for c in installs if c.startswith(".uv/bin/uv ")] == [
        ".uv/bin/uv pip install --quiet --python .venv/bin/python -r requirements/dev.lock",
        ".uv/bin/uv pip install --quiet --python .venv/bin/python --no-deps -e .",
        ".uv/bin/uv pip install --quiet --python .tools/bin/python -r requirements/tools.lock",
    ]
    assert [c for c in installs if not c.startswith(".uv/bin/uv ")] == [
        ".uv/bin/python -m pip install --quiet --disable-pip-version-check uv==0.13.9"
    ]


def test_ci_run_does_not_install_uv_and_takes_the_fresh_machine_path() -> None:
    script = (REPO_ROOT / ".ci" / "run").read_text()
    commands = [line for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]

    assert not [line for line in commands if "pip install" in line and "uv" in line]
    assert "make setup UV_ON_PATH=" in commands
    assert "make test UV_ON_PATH=" in commands
