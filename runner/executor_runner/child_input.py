"""What the `datahub ingest` child receives: its stdin envelope, its environment and its argv.

Secrets travel only in DataHub's stdin envelope `{"__recipe_yaml__": ..., "__secrets__": {...}}`:
the CLI (acryl-datahub >= 1.7, `config_loader.parse_recipe_envelope`) resolves `${NAME}`
from them without putting them in any environment and masks them in its own output.
The child's environment is built from scratch: nothing of the runner's leaks into it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from executor_common.contract import ExecutionTask
from executor_common.errors import PermanentError
from executor_common.recipe import parse_recipe, secret_references
from executor_common.runspec import ENV_CHILD_ENV_NAMES, EXECUTOR_SETTING_NAMES, RunSpec

#: Runner variables the child always gets (when the runner has them).
BASE_ENV_NAMES = ("PATH", "HOME", "LANG", "LC_ALL")
#: ECS task-role credentials, forwarded only when RUNNER_FORWARD_TASK_ROLE is true.
TASK_ROLE_ENV_NAMES = (
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)
#: Never forwarded, whatever EXECUTOR_CHILD_ENV_NAMES says: the runner's own plumbing.
NEVER_FORWARDED_PREFIXES = ("EXECUTOR_RUN_SPEC", "RUNNER_", "ECS_CONTAINER_METADATA")


class MissingSecretError(PermanentError):
    """The recipe references a secret that this run did not receive."""


def collect_secrets(spec: RunSpec, env: Mapping[str, str]) -> dict[str, str]:
    """Values of every `${NAME}` the recipe references, from the injected secret env vars only.

    A reference that is not an attached secret, or whose variable is missing or empty,
    fails the run by name: an empty substitution would send a blank password somewhere.
    """
    attached = set(spec.secret_names)
    referenced = set(secret_references(spec.recipe))
    missing = sorted(name for name in referenced if name not in attached or not env.get(name))
    values = {name: env[name] for name in sorted(attached) if env.get(name)}
    if missing:
        raise MissingSecretError(
            "The recipe references secret(s) this run did not receive: "
            + ", ".join(f"${{{name}}}" for name in missing)
            + ". Create them as secrets of this executor (Secrets Manager name = the executor's prefix + NAME), "
            "or fix the recipe; a missing secret is never replaced by an empty value."
        )
    return values


def build_envelope(spec: RunSpec, secrets: Mapping[str, str]) -> str:
    """The stdin envelope: the recipe with `run_id` = the execution id (`pipeline_name` kept)."""
    try:
        recipe = parse_recipe(spec.recipe)
    except ValueError as exc:
        raise PermanentError(str(exc)) from None
    recipe["run_id"] = spec.execution_id
    return json.dumps({"__recipe_yaml__": json.dumps(recipe), "__secrets__": dict(secrets)})


def forwarded_names(env: Mapping[str, str], spec: RunSpec) -> list[str]:
    """The names listed in EXECUTOR_CHILD_ENV_NAMES, minus executor settings, secrets and plumbing."""
    raw = env.get(ENV_CHILD_ENV_NAMES, "")
    names = [n.strip() for n in raw.split(",") if n.strip()]
    blocked = set(spec.secret_names) | EXECUTOR_SETTING_NAMES | {"DATAHUB_GMS_TOKEN", "DATAHUB_GMS_URL"}
    return [n for n in names if n not in blocked and not n.startswith(NEVER_FORWARDED_PREFIXES)]


def build_child_env(
    env: Mapping[str, str],
    spec: RunSpec,
    *,
    gms_url: str,
    gms_token: str | None,
    tmp_dir: Path,
    forward_task_role: bool = False,
) -> dict[str, str]:
    child = {name: env[name] for name in BASE_ENV_NAMES if name in env}
    child.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    child.setdefault("LANG", "C.UTF-8")
    child["TMPDIR"] = str(tmp_dir)
    child["DATAHUB_GMS_URL"] = gms_url
    if gms_token:
        child["DATAHUB_GMS_TOKEN"] = gms_token
    child["DATAHUB_TELEMETRY_ENABLED"] = "false"
    if spec.debug_mode:
        child["DATAHUB_DEBUG"] = "true"
    if forward_task_role:
        child.update({name: env[name] for name in TASK_ROLE_ENV_NAMES if name in env})
    child.update({name: env[name] for name in forwarded_names(env, spec) if name in env})
    return child


def build_argv(
    task: ExecutionTask,
    datahub: Sequence[str],
    report_file: Path,
    *,
    debug: bool = False,
    override: Sequence[str] | None = None,
) -> list[str]:
    """`datahub ingest run -c - --report-to FILE` (+ `--test-source-connection` for TEST_CONNECTION)."""
    if override:
        return [part.replace("{report_file}", str(report_file)) for part in override]
    argv = [*datahub]
    if debug:
        argv.append("--debug")
    argv += ["ingest", "run", "-c", "-", "--report-to", str(report_file), "--no-spinner"]
    if task == ExecutionTask.TEST_CONNECTION:
        argv.append("--test-source-connection")
    return argv
