"""Validate a run request before anything is launched; every problem is named in one FAILURE.

Pure: no I/O. Secret *existence* is checked later by the secret resolver (it needs
Secrets Manager); here we only check the names the recipe references.
"""

from __future__ import annotations

import re

from executor_common.contract import ExecutionTask, RunArgs, RunCommand
from executor_common.datahub_plugins import PLUGIN_NAME
from executor_common.env_policy import EnvVerdict, classify_env_name, is_reserved_secret_name
from executor_common.errors import PermanentError, summarize_validation_error
from executor_common.fargate_sizes import (
    ephemeral_storage_problem,
    size_problem,
    smallest_cpu_for,
    smallest_memory_for,
)
from executor_common.recipe import (
    is_env_var_name,
    parse_recipe,
    reserved_references,
    secret_references,
    source_type,
)
from executor_common.runspec import (
    ENV_RERUN_OF,
    ENV_RUN_TIMEOUT,
    ENV_TASK_CPU,
    ENV_TASK_EPHEMERAL_STORAGE,
    ENV_TASK_MEMORY,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dispatcher.settings import DispatcherSettings

MAX_RECIPE_BYTES = 1_000_000
MAX_RUN_TIMEOUT_SECONDS = 14 * 24 * 3600
MAX_VERSION_CHARS = 64
#: `version` words DataHub's executors accept besides a release number; the runner reads them
#: (runner/executor_runner/plugins.py: the image's CLI for bundled/native/default, the newest for latest).
VERSION_ALIASES = frozenset({"bundled", "native", "default", "latest"})
#: The characters a PEP 440 version may use, optionally after a `v` (v1.6.0). One character class,
#: so matching is linear; `fullmatch` so that a trailing newline does not pass.
_VERSION_CHARS = re.compile(r"[vV]?[0-9][0-9A-Za-z.!+_-]*")
MAX_REQUIREMENT_CHARS = 200


class TaskSize(BaseModel):
    model_config = ConfigDict(frozen=True)

    cpu: str
    memory: str
    ephemeral_storage_gib: int


class ValidatedRun(BaseModel):
    """What the planner needs, all checked. `child_env` is safe to put in overrides (no secret values)."""

    model_config = ConfigDict(frozen=True)

    command: RunCommand
    args: RunArgs
    source_type: str
    secret_names: list[str]
    #: Set after Secrets Manager was asked: the names the runner reads from DataHub's secret store.
    datahub_secret_names: list[str] = Field(default_factory=list)
    child_env: dict[str, str]
    size: TaskSize
    run_timeout_seconds: int
    #: Things the admin should know that did not stop the run (ignored settings of other executors).
    notes: list[str] = Field(default_factory=list)

    @property
    def urn(self) -> str:
        return self.command.entityUrn

    @property
    def execution_id(self) -> str:
        return self.command.execution_id

    @property
    def task(self) -> ExecutionTask:
        return self.command.aspect.task


def normalize_version(raw: str | None) -> str | None:
    """The CLI version as the runner expects it; ValueError when it is not one.

    Accepts a PEP 440 release with an optional leading `v` (v1.6.0 -> 1.6.0, as DataHub
    deployments write their default CLI version) and the aliases bundled/native/default/latest.
    """
    if raw is None:
        return None
    if raw.lower() in VERSION_ALIASES:
        return raw.lower()
    from packaging.version import InvalidVersion, Version

    problem = ValueError(
        f"{raw[:MAX_VERSION_CHARS]!r} is not a DataHub CLI version such as 1.7.0.17 (or latest, bundled, native)"
    )
    if len(raw) > MAX_VERSION_CHARS or not _VERSION_CHARS.fullmatch(raw):
        raise problem
    try:
        version = Version(raw)
    except InvalidVersion:
        raise problem from None
    if len(version.release) < 2:  # DataHub releases are major.minor.patch[.build]
        raise problem
    return str(version)


def requirement_problem(entry: str) -> str | None:
    """Why an `extra_pip_requirements` entry is not a plain requirement specifier, or None.

    Entries reach the installer as arguments, so only `name[extras] (specifier) ; marker` is
    accepted: no options (`--extra-index-url=...`, `-r file`, `-e path`), no direct URLs
    (`pkg @ http://...`), no paths. The package index stays the operator's.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    shown = repr(entry[:64])
    if len(entry) > MAX_REQUIREMENT_CHARS:
        return f"{shown}... is longer than {MAX_REQUIREMENT_CHARS} characters"
    if entry.lstrip().startswith("-"):
        return f"{shown} is an installer option; only requirement specifiers such as 'pkg>=1.2' are accepted"
    try:
        requirement = Requirement(entry)
    except InvalidRequirement:
        return f"{shown} is not a requirement specifier such as 'pkg>=1.2' (paths and options are not accepted)"
    if requirement.url:
        return f"{shown} names a direct URL; only packages from the configured index can be installed"
    return None


def _size(env: dict[str, str], settings: DispatcherSettings, problems: list[str]) -> TaskSize:
    """Per-source size from the request's extra env vars, else the stack's defaults.

    When only one of CPU / memory is given, the other is filled with a compatible value
    (the default when it fits, else the smallest valid one); an explicit pair must be valid.
    """
    cpu, memory = env.get(ENV_TASK_CPU, "").strip(), env.get(ENV_TASK_MEMORY, "").strip()
    if cpu and not memory:
        fits = size_problem(cpu, settings.default_task_memory) is None
        memory = settings.default_task_memory if fits else str(smallest_memory_for(cpu) or "")
    elif memory and not cpu:
        fits = size_problem(settings.default_task_cpu, memory) is None
        cpu = settings.default_task_cpu if fits else str(smallest_cpu_for(memory) or settings.default_task_cpu)
    elif not cpu and not memory:
        cpu, memory = settings.default_task_cpu, settings.default_task_memory
    problem = size_problem(cpu, memory)
    if problem:
        problems.append(f"{ENV_TASK_CPU}/{ENV_TASK_MEMORY}: {problem}")
    else:
        cpu, memory = str(int(cpu)), str(int(memory))  # " 02048" -> "2048", as ECS expects
    storage = env.get(ENV_TASK_EPHEMERAL_STORAGE, "").strip() or str(settings.default_ephemeral_storage_gib)
    storage_problem = ephemeral_storage_problem(storage)
    if storage_problem:
        problems.append(f"{ENV_TASK_EPHEMERAL_STORAGE}: {storage_problem}")
    return TaskSize(
        cpu=cpu,
        memory=memory,
        ephemeral_storage_gib=int(storage) if not storage_problem else settings.default_ephemeral_storage_gib,
    )


def _timeout(env: dict[str, str], settings: DispatcherSettings, problems: list[str]) -> int:
    raw = env.get(ENV_RUN_TIMEOUT, "").strip()
    if not raw:
        return settings.default_run_timeout_seconds
    if not raw.isdigit() or not 0 < int(raw) <= MAX_RUN_TIMEOUT_SECONDS:
        problems.append(
            f"{ENV_RUN_TIMEOUT}: {raw!r} must be a whole number of seconds from 1 to {MAX_RUN_TIMEOUT_SECONDS}"
        )
        return settings.default_run_timeout_seconds
    return int(raw)


def validate_run(command: RunCommand, settings: DispatcherSettings) -> ValidatedRun:
    """A `ValidatedRun`, or PermanentError naming every problem found (one per line)."""
    try:
        args = RunArgs.from_input(command.aspect)
    except ValidationError as exc:
        raise PermanentError(f"The request's args are invalid: {summarize_validation_error(exc)}") from None
    except ValueError as exc:
        raise PermanentError(f"The request's args are invalid: {exc}") from None

    problems: list[str] = []
    recipe_bytes = len(args.recipe.encode("utf-8"))
    recipe_source_type = ""
    secret_names: list[str] = []
    if recipe_bytes > MAX_RECIPE_BYTES:
        problems.append(f"recipe: {recipe_bytes} bytes is larger than the {MAX_RECIPE_BYTES}-byte limit")
    else:
        try:
            recipe_source_type = source_type(parse_recipe(args.recipe))
        except ValueError as exc:
            problems.append(f"recipe: {exc}")
        secret_names = secret_references(args.recipe)
        problems.extend(f"recipe: {problem}" for problem in reserved_references(args.recipe))

    for entry in args.extra_pip_requirements:
        problem = requirement_problem(entry)
        if problem:
            problems.append(f"extra pip requirement {problem}")
    for plugin in args.extra_pip_plugins:
        if not PLUGIN_NAME.fullmatch(plugin):
            problems.append(f"extra DataHub plugin {plugin[:64]!r}: not a plugin name such as 'datahub-kafka'")

    version = args.version
    try:
        version = normalize_version(args.version)
    except ValueError as exc:
        problems.append(f"version: {exc}")

    env = args.extra_env_vars
    notes: list[str] = []
    forwarded: dict[str, str] = {}
    for name in sorted(env):
        if not is_env_var_name(name):
            problems.append(f"extra env var {name[:64]!r}: not a valid environment variable name")
            continue
        decision = classify_env_name(name)
        if decision.verdict is EnvVerdict.REFUSE:
            problems.append(decision.reason)
        elif decision.verdict is EnvVerdict.IGNORE:
            notes.append(decision.reason)
        elif name in secret_names:
            problems.append(f"extra env var {name}: collides with the secret ${{{name}}} that the recipe references")
        elif decision.verdict is EnvVerdict.ALLOW:
            forwarded[name] = env[name]
    for name in secret_names:
        if is_reserved_secret_name(name):
            problems.append(f"recipe secret ${{{name}}}: the name is reserved by the executor; rename the secret")

    if env.get(ENV_RERUN_OF):
        notes.append(
            f"re-run on on-demand Fargate: the Fargate Spot task {env[ENV_RERUN_OF][:200]} of this run was "
            "interrupted (SpotInterruption)"
        )
    size = _size(env, settings, problems)
    timeout = _timeout(env, settings, problems)
    if problems:
        raise PermanentError("The request is invalid:\n" + "\n".join(f"- {p}" for p in problems))

    child_env = {**settings.run_env_vars, **forwarded}
    return ValidatedRun(
        command=command,
        args=args if version == args.version else args.model_copy(update={"version": version}),
        source_type=recipe_source_type,
        secret_names=secret_names,
        child_env=child_env,
        size=size,
        run_timeout_seconds=timeout,
        notes=notes,
    )
