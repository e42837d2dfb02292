"""What the `datahub ingest` child receives: its stdin envelope, its environment and its argv.

Secrets travel only in DataHub's stdin envelope `{"__recipe_yaml__": ..., "__secrets__": {...}}`:
the CLI (acryl-datahub >= 1.7, `config_loader.parse_recipe_envelope`) resolves `${NAME}`
from them without putting them in any environment and masks them in its own output.

The executor's GMS token is never in the child's environment, where `$DATAHUB_GMS_TOKEN` in a
recipe could send it to any server. It goes into the envelope under a name of the runner's
(`GMS_TOKEN_REF`), referenced only from the places the runner fills itself: the default sink
(added when the recipe has none), a `datahub-rest` sink and a `datahub_api` that point at the
configured GMS. A recipe cannot mention that name, so the token reaches the configured GMS only.

The child's environment is built from scratch: the image's basics, the run spec's
`extra_env_vars` (minus names of the runner's own), nothing else of the runner's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from executor_common.contract import ExecutionTask
from executor_common.errors import PermanentError
from executor_common.recipe import parse_recipe, secret_references
from executor_common.runspec import EXECUTOR_SETTING_NAMES, RunSpec

from executor_runner.settings import RunnerSettings

#: The envelope name under which the runner hands the child the GMS token (never an env var).
GMS_TOKEN_REF = "DATAHUB_EXECUTOR_GMS_TOKEN"
#: Extra env vars never given to the child (compared case-insensitively): the runner's plumbing,
#: the GMS connection, container credentials. The dispatcher refuses them; the runner drops them too.
RESERVED_CHILD_ENV_PREFIXES = (
    "RUNNER_",
    "EXECUTOR_",
    "DATAHUB_GMS_",
    "DATAHUB_EXECUTOR_",
    "ECS_",
    "AWS_CONTAINER_",
    "POWERTOOLS_",
)
RESERVED_CHILD_ENV_NAMES = frozenset({"RUN_BUCKET", "TMPDIR", "DATAHUB_TELEMETRY_ENABLED"})
_TOKEN_REFERENCE = re.compile(r"\$\{?\s*DATAHUB_GMS_TOKEN\b")


class MissingSecretError(PermanentError):
    """The recipe references a secret that this run did not receive."""


def collect_secrets(spec: RunSpec, secret_env: Mapping[str, str], recipe_text: str | None = None) -> dict[str, str]:
    """Values of every `${NAME}` the recipe references, from the injected secret env vars only.

    A reference that is not an attached secret, or whose variable is missing or empty,
    fails the run by name: an empty substitution would send a blank password somewhere.
    `recipe_text` is the recipe as the child gets it (default: the spec's).
    """
    attached = set(spec.secret_names) | set(spec.datahub_secret_names)
    referenced = set(secret_references(spec.recipe if recipe_text is None else recipe_text)) - {GMS_TOKEN_REF}
    missing = sorted(name for name in referenced if name not in attached or not secret_env.get(name))
    values = {name: secret_env[name] for name in sorted(attached) if secret_env.get(name)}
    if missing:
        raise MissingSecretError(
            "The recipe references secret(s) this run did not receive: "
            + ", ".join(f"${{{name}}}" for name in missing)
            + ". Create them as secrets of this executor (Secrets Manager name = the executor's prefix + NAME), "
            "or fix the recipe; a missing secret is never replaced by an empty value."
        )
    return values


def build_envelope(spec: RunSpec, secret_env: Mapping[str, str], *, gms_url: str, gms_token: str | None) -> str:
    """The stdin envelope: the recipe with `run_id` = the execution id, the token wired to our GMS only,
    and the values of the attached secrets it references (MissingSecretError naming any it lacks)."""
    if GMS_TOKEN_REF in spec.recipe:
        raise PermanentError(f"The recipe mentions {GMS_TOKEN_REF}, a name reserved for the executor's own token.")
    try:
        recipe = parse_recipe(spec.recipe)
    except ValueError as exc:
        raise PermanentError(str(exc)) from None
    recipe["run_id"] = spec.execution_id
    if gms_token:
        _wire_token(recipe, gms_url)
    recipe_text = json.dumps(recipe)
    if _TOKEN_REFERENCE.search(recipe_text):
        raise PermanentError(
            "The recipe uses $DATAHUB_GMS_TOKEN outside a datahub-rest sink to this executor's GMS "
            f"({gms_url}). The executor's token only goes to its own GMS; give another server its own "
            "token as a secret (${NAME})."
        )
    envelope_secrets = collect_secrets(spec, secret_env, recipe_text)
    if gms_token:
        envelope_secrets[GMS_TOKEN_REF] = gms_token
    return json.dumps({"__recipe_yaml__": recipe_text, "__secrets__": envelope_secrets})


def _wire_token(recipe: dict[str, Any], gms_url: str) -> None:
    """Point the token reference at the configured GMS only (mutates `recipe`)."""
    reference = f"${{{GMS_TOKEN_REF}}}"
    sink = recipe.get("sink")
    if sink is None:  # the CLI's default sink, made explicit so it needs no token in the environment
        recipe["sink"] = {"type": "datahub-rest", "config": {"server": gms_url, "token": reference}}
        sink = recipe["sink"]
    if isinstance(sink, dict) and sink.get("type") == "datahub-rest":
        config = sink.setdefault("config", {}) or {}
        sink["config"] = config
        if isinstance(config, dict) and same_server(config.setdefault("server", gms_url), gms_url):
            config["token"] = reference
    api = recipe.get("datahub_api")
    if api is None and _is_ours(recipe.get("sink"), gms_url):
        recipe["datahub_api"] = {"server": gms_url, "token": reference}
    elif isinstance(api, dict) and same_server(api.setdefault("server", gms_url), gms_url):
        api["token"] = reference


def _is_ours(sink: Any, gms_url: str) -> bool:
    if not isinstance(sink, dict) or sink.get("type") != "datahub-rest":
        return False
    config = sink.get("config")
    return isinstance(config, dict) and same_server(config.get("server"), gms_url)


def same_server(candidate: Any, gms_url: str) -> bool:
    """True when `candidate` is the configured GMS (scheme, host, port and path; case and default port aside)."""
    if not isinstance(candidate, str):
        return False
    return _normalized(candidate) == _normalized(gms_url)


def _normalized(url: str) -> tuple[str, str, int | None, str]:
    try:
        parts = urlsplit(url.strip())
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return ("", url, None, "")
    return (parts.scheme.lower(), (parts.hostname or "").lower(), port, parts.path.rstrip("/"))


def is_reserved_child_env(name: str, spec: RunSpec) -> bool:
    upper = name.upper()
    return (
        upper.startswith(RESERVED_CHILD_ENV_PREFIXES)
        or upper in RESERVED_CHILD_ENV_NAMES
        or upper in EXECUTOR_SETTING_NAMES
        or name in spec.secret_names
        or name in spec.datahub_secret_names
    )


def build_child_env(spec: RunSpec, settings: RunnerSettings, *, tmp_dir: Path) -> dict[str, str]:
    """The image's basics, the spec's extra env vars (reserved names dropped), never the GMS token."""
    child = {"PATH": settings.path, "LANG": settings.lang}
    if settings.home:
        child["HOME"] = settings.home
    child.update({k: v for k, v in spec.extra_env_vars.items() if not is_reserved_child_env(k, spec)})
    child["TMPDIR"] = str(tmp_dir)
    child["DATAHUB_GMS_URL"] = settings.gms_url
    child["DATAHUB_TELEMETRY_ENABLED"] = "false"
    if spec.debug_mode:
        child["DATAHUB_DEBUG"] = "true"
    if settings.forward_task_role:
        child.update(settings.task_role_env())
    return child


def dropped_env_names(spec: RunSpec) -> list[str]:
    return sorted(k for k in spec.extra_env_vars if is_reserved_child_env(k, spec))


def build_argv(task: ExecutionTask, datahub: Sequence[str], report_file: Path, *, debug: bool = False) -> list[str]:
    """`datahub ingest run -c - --report-to FILE` (+ `--test-source-connection` for TEST_CONNECTION)."""
    argv = [*datahub]
    if debug:
        argv.append("--debug")
    argv += ["ingest", "run", "-c", "-", "--report-to", str(report_file), "--no-spinner"]
    if task == ExecutionTask.TEST_CONNECTION:
        argv.append("--test-source-connection")
    return argv
