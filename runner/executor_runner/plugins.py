"""Run-time installs: a source plugin the image lacks, extra DataHub plugins, another CLI version,
extra pip requirements.

Decision (pure: `plan_install`, `install_commands`) and effect (`Run._install`) are separate.
When anything is needed and RUNNER_ALLOW_RUNTIME_INSTALLS is true, a per-run venv with the
image's site-packages visible is created and `acryl-datahub[<source>,<plugins>]==<version>` plus
the extra requirements are installed into it with uv (pip when uv is absent), as DataHub's own
executor does (`VenvConfig.get_acryl_datahub_requirement_line`); the child then runs that venv's
`python -m datahub`. When installs are disabled, such a run fails clearly.

The request chooses packages, never the installer: every extra requirement must parse as a plain
requirement specifier (`packaging`), so no option (`--extra-index-url`, `-r file`) and no direct URL
(`pkg @ http://...`) gets through; the index comes from the runner's settings only, and the
installer's environment is an allow-list (no `PIP_*`, `UV_*` or proxy variable of the request).
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from executor_common.datahub_plugins import PLUGIN_NAME, run_plugins
from executor_common.errors import PermanentError

from executor_runner.settings import RunnerSettings

DATAHUB_DIST = "acryl-datahub"
#: `version` values that mean "the CLI in the image".
BUNDLED_ALIASES = frozenset({"", "bundled", "native", "default"})


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


#: A PEP 508 requirement's distribution name (https://peps.python.org/pep-0508/#names) at the line's start;
#: anchored and possessive so it runs in linear time. A name must also end in a letter or digit (checked apart).
_REQUIREMENT_NAME = re.compile(r"\A\s*+([A-Za-z0-9][A-Za-z0-9._-]*+)(?=[\[(;<>=!~@\s]|\Z)")


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


def datahub_requirements() -> tuple[str, ...]:
    """acryl-datahub's Requires-Dist lines, as its METADATA has them."""
    return _datahub_dist().requires


def requirement_name(raw: str) -> str | None:
    """The distribution name a Requires-Dist line starts with (packaging's `Requirement(raw).name`, without
    importing packaging: its parser's import was ~80 ms of every run's start); None when there is none."""
    named = _REQUIREMENT_NAME.match(raw)
    return named.group(1) if named is not None and named.group(1)[-1].isalnum() else None


def plugin_available(plugin: str) -> bool:
    """True when every requirement of `acryl-datahub[<plugin>]` is installed (no import needed).

    A type that is not an extra (a source without extra dependencies, or a custom
    `module.Class`) counts as available: there is nothing of ours to install for it.
    """
    if plugin not in datahub_extras():
        return True
    marker = f'extra == "{plugin}"'
    for raw in datahub_requirements():
        if marker not in raw:  # cheap filter: only this extra's requirements
            continue
        name = requirement_name(raw)
        if name is None:
            continue
        try:
            importlib.metadata.distribution(name)  # finds the dist-info without parsing it
        except importlib.metadata.PackageNotFoundError:
            return False
    return True


def validate_requirements(entries: Sequence[str]) -> list[str]:
    """Each entry as a plain requirement specifier; InstallError naming every entry that is not one."""
    from packaging.requirements import InvalidRequirement, Requirement

    bad: list[str] = []
    for entry in entries:
        text = entry.strip()
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            bad.append(entry)
            continue
        if text.startswith("-") or requirement.url:
            bad.append(entry)
    if bad:
        raise InstallError(
            "extra_pip_requirements accepts requirement specifiers only (like 'acme-plugin==1.2' or "
            "'requests<3'), not installer options or direct URLs; refused: "
            + ", ".join(repr(b) for b in bad)
            + ". Packages come from the executor's package index (RUNNER_PIP_INDEX_URL)."
        )
    return [entry.strip() for entry in entries]


def validate_plugins(plugins: Sequence[str], *, extras: frozenset[str], check_known: bool) -> list[str]:
    """Extra DataHub plugins as extras names; unknown ones (for the bundled CLI) fail the run by name."""
    names = [p.strip() for p in plugins if p.strip()]
    malformed = [p for p in names if not PLUGIN_NAME.fullmatch(p)]
    unknown = [p for p in names if check_known and p not in extras and p not in malformed]
    if malformed or unknown:
        raise InstallError(
            "extra_pip_plugins must name plugins (extras) of acryl-datahub; "
            + ("not a plugin name: " + ", ".join(repr(p) for p in malformed) if malformed else "")
            + ("; " if malformed and unknown else "")
            + ("not a plugin of the image's acryl-datahub: " + ", ".join(unknown) if unknown else "")
        )
    return names


def plan_install(
    source_type: str,
    requested_version: str | None,
    extra_pip_requirements: Sequence[str],
    *,
    bundled: str,
    extras: frozenset[str],
    is_available: Callable[[str], bool],
    extra_plugins: Sequence[str] = (),
) -> InstallPlan:
    """What this run needs beyond the image (empty plan: run the bundled CLI as is)."""
    requirements: list[str] = []
    reasons: list[str] = []
    version = cli_version(requested_version)
    other_version = version.lower() not in BUNDLED_ALIASES and version != bundled
    plugins = validate_plugins(extra_plugins, extras=extras, check_known=not other_version)
    wanted = run_plugins(source_type, plugins, extras)
    extra = f"[{','.join(wanted)}]" if wanted else ""
    missing = [p for p in wanted if not is_available(p)]
    if other_version:
        pin = "" if version.lower() == "latest" else f"=={version}"
        requirements.append(f"{DATAHUB_DIST}{extra}{pin}")
        reasons.append(f"CLI version {version} requested (the image has {bundled})")
    elif missing:
        requirements.append(f"{DATAHUB_DIST}{extra}=={bundled}")
        reasons.append("plugin(s) not in the image: " + ", ".join(f"'{p}'" for p in missing))
    if extra_pip_requirements:
        requirements.extend(validate_requirements(extra_pip_requirements))
        reasons.append("extra pip requirements: " + ", ".join(extra_pip_requirements))
    return InstallPlan(tuple(requirements), tuple(reasons))


def cli_version(requested: str | None) -> str:
    """The version to pin; `v1.6.0` (DataHub's default CLI version in some deployments) means `1.6.0`."""
    text = (requested or "").strip()
    return text[1:] if len(text) > 1 and text[0] in "vV" and text[1].isdigit() else text


def install_commands(
    plan: InstallPlan,
    venv_dir: Path,
    *,
    uv: str | None,
    index_url: str | None,
    extra_index_url: str | None,
) -> list[tuple[str, list[str]]]:
    """The (step, argv) pairs that build the run's venv; index options come from settings only."""
    python = venv_dir / "bin" / "python"
    index_args: list[str] = []
    if index_url:
        index_args += ["--index-url", index_url]
    if extra_index_url:
        index_args += ["--extra-index-url", extra_index_url]
    packages = ", ".join(plan.requirements)
    if uv:
        create = [uv, "venv", "--quiet", "--no-config", "--system-site-packages", "--python", sys.executable]
        create.append(str(venv_dir))
        add = [uv, "pip", "install", "--no-config", "--python", str(python), *index_args, *plan.requirements]
    else:
        create = [sys.executable, "-m", "venv", "--system-site-packages", str(venv_dir)]
        add = [str(python), "-m", "pip", "install", "--isolated", "--disable-pip-version-check", *index_args]
        add += plan.requirements
    return [("creating the run's virtual environment", create), (f"installing {packages}", add)]


def install_failed_error(step: str, why: str, plan: InstallPlan) -> InstallError:
    return InstallError(
        f"Run-time install failed: {step} {why}. Package(s): {', '.join(plan.requirements)}. "
        "Check the package names and versions, and that the package index is reachable "
        "(RUNNER_PIP_INDEX_URL for private subnets); the installer's output is in the log below."
    )


def installs_disabled_error(plan: InstallPlan) -> InstallError:
    return InstallError(
        "This run needs packages that are not in the runner image ("
        + "; ".join(plan.reasons)
        + f": {', '.join(plan.requirements)}), and run-time installs are disabled "
        "(RUNNER_ALLOW_RUNTIME_INSTALLS=false). Use an image that bakes them in "
        "(the DATAHUB_PLUGINS / DATAHUB_VERSION build args), or allow run-time installs."
    )


def see_image_packages(python: Path) -> None:
    """Make the image's packages visible behind the venv's own (also when the image's Python is a venv)."""
    import site

    for site_packages in (python.parent.parent / "lib").glob("python*/site-packages"):
        (site_packages / "_executor_image_packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")


def installer_env(settings: RunnerSettings, tmp_dir: Path) -> dict[str, str]:
    """An allow-list: the image's basics and the operator's proxy; nothing the request could set."""
    env = {"PATH": settings.path, "LANG": settings.lang, "TMPDIR": str(tmp_dir), **settings.proxy_env()}
    if settings.home:
        env["HOME"] = settings.home
    return env
