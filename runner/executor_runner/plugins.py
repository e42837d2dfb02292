"""Run-time installs: a source plugin the image lacks, another CLI version, extra pip requirements.

Decision (pure, `plan_install`) and effect (`install`) are separate. When anything is
needed and RUNNER_ALLOW_RUNTIME_INSTALLS is true, a per-run venv with the image's
site-packages visible is created and `acryl-datahub[<plugin>]==<version>` plus the
extras are installed into it with uv (pip when uv is absent); the child then runs
that venv's `python -m datahub`. When installs are disabled, such a run fails clearly.
The install output goes to the run's log like the child's.
"""

from __future__ import annotations

import functools
import importlib.metadata
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from executor_common.errors import PermanentError

from executor_runner.relay import LogRelay
from executor_runner.supervisor import StopSwitch, Supervisor

DATAHUB_DIST = "acryl-datahub"
#: `version` values that mean "the CLI in the image".
BUNDLED_ALIASES = frozenset({"", "bundled", "native", "default"})
#: Installer settings passed through from the runner's environment (proxies, uv/pip tuning).
INSTALLER_ENV_PREFIXES = ("UV_", "PIP_", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy")


class InstallError(PermanentError):
    """A run-time install failed or is not allowed; the reason names the package(s)."""


@dataclass(frozen=True)
class InstallPlan:
    requirements: tuple[str, ...] = ()
    reasons: tuple[str, ...] = field(default=())

    @property
    def needed(self) -> bool:
        return bool(self.requirements)


@dataclass(frozen=True)
class _DistInfo:
    version: str
    extras: frozenset[str]
    requires: tuple[str, ...]


@functools.cache
def _datahub_dist() -> _DistInfo:
    """acryl-datahub's METADATA headers, read once by hand: the email parser takes ~50 ms on its 4700 lines."""
    text = importlib.metadata.distribution(DATAHUB_DIST).read_text("METADATA") or ""
    version, extras, requires = "", [], []
    for line in text.split("\n\n", 1)[0].splitlines():
        key, _, value = line.partition(": ")
        if key == "Version":
            version = value.strip()
        elif key == "Provides-Extra":
            extras.append(value.strip())
        elif key == "Requires-Dist":
            requires.append(value.strip())
    return _DistInfo(version, frozenset(extras), tuple(requires))


def bundled_version() -> str:
    return _datahub_dist().version


def datahub_extras() -> frozenset[str]:
    return _datahub_dist().extras


def plugin_available(plugin: str) -> bool:
    """True when every requirement of `acryl-datahub[<plugin>]` is installed (no import needed).

    A type that is not an extra (a source without extra dependencies, or a custom
    `module.Class`) counts as available: there is nothing of ours to install for it.
    """
    if plugin not in datahub_extras():
        return True
    from packaging.requirements import InvalidRequirement, Requirement

    marker = f'extra == "{plugin}"'
    for raw in _datahub_dist().requires:
        if marker not in raw:  # cheap filter: parse only this extra's requirements
            continue
        try:
            name = Requirement(raw).name
        except InvalidRequirement:
            continue
        try:
            importlib.metadata.distribution(name)  # finds the dist-info without parsing it
        except importlib.metadata.PackageNotFoundError:
            return False
    return True


def plan_install(
    source_type: str,
    requested_version: str | None,
    extra_pip_requirements: Sequence[str],
    *,
    bundled: str,
    extras: frozenset[str],
    is_available: Callable[[str], bool],
) -> InstallPlan:
    """What this run needs beyond the image (empty plan: run the bundled CLI as is)."""
    requirements: list[str] = []
    reasons: list[str] = []
    extra = f"[{source_type}]" if source_type in extras else ""
    version = (requested_version or "").strip()
    if version.lower() not in BUNDLED_ALIASES and version != bundled:
        pin = "" if version.lower() == "latest" else f"=={version}"
        requirements.append(f"{DATAHUB_DIST}{extra}{pin}")
        reasons.append(f"CLI version {version} requested (the image has {bundled})")
    elif extra and not is_available(source_type):
        requirements.append(f"{DATAHUB_DIST}{extra}=={bundled}")
        reasons.append(f"the '{source_type}' source plugin is not in the image")
    if extra_pip_requirements:
        requirements.extend(extra_pip_requirements)
        reasons.append("extra pip requirements: " + ", ".join(extra_pip_requirements))
    return InstallPlan(tuple(requirements), tuple(reasons))


def install(
    plan: InstallPlan,
    venv_dir: Path,
    *,
    env: Mapping[str, str],
    relay: LogRelay,
    stop: StopSwitch,
    index_url: str | None,
    extra_index_url: str | None,
    timeout_seconds: float,
    kill_grace_seconds: float,
) -> Path:
    """Create the per-run venv and install the plan; returns the venv's python. InstallError on failure."""
    python = venv_dir / "bin" / "python"
    uv = shutil.which("uv", path=env.get("PATH"))
    index_args: list[str] = []
    if index_url:
        index_args += ["--index-url", index_url]
    if extra_index_url:
        index_args += ["--extra-index-url", extra_index_url]
    if uv:
        create = [uv, "venv", "--quiet", "--system-site-packages", "--python", sys.executable, str(venv_dir)]
        add = [uv, "pip", "install", "--python", str(python), *index_args, *plan.requirements]
    else:
        create = [sys.executable, "-m", "venv", "--system-site-packages", str(venv_dir)]
        add = [str(python), "-m", "pip", "install", "--disable-pip-version-check", *index_args, *plan.requirements]
    packages = ", ".join(plan.requirements)
    relay.note("Installing at run time (" + "; ".join(plan.reasons) + "): " + packages)
    for step, argv in (("creating the run's virtual environment", create), (f"installing {packages}", add)):
        outcome = Supervisor(
            argv,
            env=env,
            relay=relay,
            stop=stop,
            timeout_seconds=timeout_seconds,
            kill_grace_seconds=kill_grace_seconds,
        ).run()
        if outcome.stop_reason is not None and stop.tripped:
            raise InstallError(f"Stopped while {step}")
        if outcome.returncode != 0:
            why = "timed out" if outcome.stop_reason else f"failed with exit code {outcome.returncode}"
            raise InstallError(
                f"Run-time install failed: {step} {why}. Package(s): {packages}. "
                "Check the package names and versions, and that the package index is reachable "
                "(RUNNER_PIP_INDEX_URL for private subnets); the installer's output is in the log below."
            )
    _see_image_packages(python)
    relay.note(f"Installed {packages}")
    return python


def installs_disabled_error(plan: InstallPlan) -> InstallError:
    return InstallError(
        "This run needs packages that are not in the runner image ("
        + "; ".join(plan.reasons)
        + f": {', '.join(plan.requirements)}), and run-time installs are disabled "
        "(RUNNER_ALLOW_RUNTIME_INSTALLS=false). Use an image that bakes them in "
        "(the DATAHUB_PLUGINS / DATAHUB_VERSION build args), or allow run-time installs."
    )


def _see_image_packages(python: Path) -> None:
    """Make the image's packages visible behind the venv's own (also when the image's Python is a venv)."""
    import site

    for site_packages in (python.parent.parent / "lib").glob("python*/site-packages"):
        (site_packages / "_executor_image_packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")


def installer_env(child_env: Mapping[str, str], runner_env: Mapping[str, str]) -> dict[str, str]:
    """The child's clean environment plus the runner's installer tuning (UV_*, PIP_*, proxies)."""
    env = {k: v for k, v in child_env.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    env.update({k: v for k, v in runner_env.items() if k.startswith(INSTALLER_ENV_PREFIXES)})
    return env
