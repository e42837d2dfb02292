"""Which environment-variable names a request may use: the one table of reserved names, with the reason.

A DataHub admin sets per-source "extra env vars" and names secrets `${NAME}`; both end up
as variables around the ingestion. A name is refused when it would hand the executor's
credentials over or change the executor's own behaviour (the runner's settings, the
installer, the interpreter, the dynamic loader, the connection to DataHub). Names meant
for DataHub's other executors are ignored with a note. Everything else is allowed.
Names are compared case-insensitively: the runner's settings read `RUNNER_*` that way,
and proxies are honoured in both cases.

Two uses, one table:
- `classify_env_name` for a name that becomes a variable (extra env var, secret name);
- `is_reserved_reference` for a name a recipe merely refers to (`$NAME`, `${NAME:-x}`):
  only rows that carry a secret or the executor's plumbing are refused there, so a recipe
  may still say `$HOME/data`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from executor_common.runspec import EXECUTOR_SETTING_NAMES


@dataclass(frozen=True)
class Reserved:
    """One row: an upper-case name, or a prefix when it ends in `*`."""

    pattern: str
    reason: str
    #: A recipe's reference to it is refused too (it would expose a credential or the executor's plumbing).
    secret_bearing: bool = False

    def matches(self, upper_name: str) -> bool:
        if self.pattern.endswith("*"):
            return upper_name.startswith(self.pattern[:-1])
        return upper_name == self.pattern


_GMS = "the executor's own connection to DataHub (URL and token); the default sink uses it"
_CONTAINER_CREDENTIALS = "the task role's credentials endpoint and its authorization token"
_STATIC_KEYS = "static AWS keys would replace the task role's credentials of the executor itself"
_INSTALLER = "reaches the run-time installer (another package index, trusted hosts, a config file)"
_PROXY = "routes the installer's and the executor's own HTTP traffic (and may carry credentials)"
_PYTHON = "changes what the Python interpreter loads or runs (the runner's and the child's)"

#: The one table. Order matters only for which reason is shown; every row refuses.
RESERVED: tuple[Reserved, ...] = (
    Reserved("DATAHUB_GMS_*", _GMS, secret_bearing=True),
    Reserved("DATAHUB_AUTH_*", "replaces how the default sink authenticates to DataHub", secret_bearing=True),
    Reserved("DATAHUB_SYSTEM_CLIENT_*", "DataHub's system credentials", secret_bearing=True),
    Reserved("DATAHUB_TOKEN_SERVICE_*", "DataHub's token-signing keys", secret_bearing=True),
    Reserved("RUNNER_*", "the runner's own settings", secret_bearing=True),
    Reserved("RUN_BUCKET", "the executor's run bucket (logs and reports of every run)", secret_bearing=True),
    Reserved("POWERTOOLS_*", "the executor's logging, metrics and tracing", secret_bearing=True),
    Reserved("EXECUTOR_*", "the executor's own plumbing (run spec, execution request, executor id)", True),
    Reserved("AWS_CONTAINER_CREDENTIALS_*", _CONTAINER_CREDENTIALS, secret_bearing=True),
    Reserved("AWS_CONTAINER_AUTHORIZATION_TOKEN*", _CONTAINER_CREDENTIALS, secret_bearing=True),
    Reserved("AWS_ACCESS_KEY_ID", _STATIC_KEYS, secret_bearing=True),
    Reserved("AWS_SECRET_ACCESS_KEY", _STATIC_KEYS, secret_bearing=True),
    Reserved("AWS_SESSION_TOKEN", _STATIC_KEYS, secret_bearing=True),
    Reserved("AWS_SECURITY_TOKEN", _STATIC_KEYS, secret_bearing=True),
    Reserved("AWS_ENDPOINT_URL*", "would redirect the executor's own AWS calls (run spec, run folder)"),
    Reserved("ECS_CONTAINER_METADATA_URI*", "the task's metadata endpoint, set by ECS", secret_bearing=True),
    Reserved("ECS_*", "set by the ECS agent"),
    Reserved("PIP_*", _INSTALLER, secret_bearing=True),
    Reserved("UV_*", _INSTALLER, secret_bearing=True),
    Reserved("HTTP_PROXY", _PROXY, secret_bearing=True),
    Reserved("HTTPS_PROXY", _PROXY, secret_bearing=True),
    Reserved("ALL_PROXY", _PROXY, secret_bearing=True),
    Reserved("NO_PROXY", _PROXY),
    Reserved("PYTHON*", _PYTHON),
    Reserved("LD_*", "the dynamic loader: code injected into every process"),
    Reserved("PATH", "which programs run (the installer, the CLI)"),
    Reserved("HOME", "the runner sets the child's home folder (the CLI's config file lives there)"),
)

#: PYTHON* settings that change only output and diagnostics, never what is loaded.
HARMLESS_PYTHON = frozenset(
    {"PYTHONUNBUFFERED", "PYTHONIOENCODING", "PYTHONUTF8", "PYTHONDONTWRITEBYTECODE", "PYTHONFAULTHANDLER"}
)

#: Per-source settings documented for DataHub's hosted executor; this executor has its own (EXECUTOR_TASK_CPU ...).
OTHER_EXECUTOR_SETTINGS = frozenset({"EXECUTOR_TASK_MEMORY_LIMIT", "EXECUTOR_TASK_WEIGHT"})
#: The runner's own EXECUTOR_* plumbing: refused, never ignored.
EXECUTOR_PLUMBING = (
    "EXECUTOR_RUN_SPEC",
    "EXECUTOR_CHILD_ENV_NAMES",
    "EXECUTOR_EXECUTION_REQUEST_URN",
    "EXECUTOR_ID",
)


class EnvVerdict(StrEnum):
    ALLOW = "allow"
    #: One of this executor's per-source settings (EXECUTOR_TASK_CPU ...): read by the dispatcher, not forwarded.
    SETTING = "setting"
    #: Meant for another executor: dropped, with a note in the run's report.
    IGNORE = "ignore"
    REFUSE = "refuse"


@dataclass(frozen=True)
class EnvDecision:
    verdict: EnvVerdict
    reason: str = ""


def reserved_row(name: str) -> Reserved | None:
    """The table row that reserves `name` (case-insensitive), or None."""
    upper = name.upper()
    if upper in HARMLESS_PYTHON:
        return None
    return next((row for row in RESERVED if row.matches(upper)), None)


def classify_env_name(name: str) -> EnvDecision:
    """What to do with an extra env var called `name` (its value is never looked at)."""
    if name in EXECUTOR_SETTING_NAMES:
        return EnvDecision(EnvVerdict.SETTING)
    upper = name.upper()
    if upper.startswith("EXECUTOR_") and not upper.startswith(EXECUTOR_PLUMBING):
        ours = ", ".join(sorted(EXECUTOR_SETTING_NAMES))
        known = "a setting of DataHub's hosted executor" if upper in OTHER_EXECUTOR_SETTINGS else "not a setting"
        return EnvDecision(
            EnvVerdict.IGNORE,
            f"extra env var {name} ignored: {known} of this executor (this executor's per-source settings: {ours})",
        )
    row = reserved_row(name)
    if row is not None:
        return EnvDecision(EnvVerdict.REFUSE, f"extra env var {name}: reserved ({row.reason}); remove it")
    return EnvDecision(EnvVerdict.ALLOW)


def is_reserved_secret_name(name: str) -> bool:
    """A `${NAME}` secret becomes a variable of the runner's container: every reserved row applies, and EXECUTOR_*."""
    return reserved_row(name) is not None or name.upper().startswith("EXECUTOR_")


def is_reserved_reference(name: str) -> Reserved | None:
    """The row that makes a recipe's `$NAME` reference unacceptable (credentials, plumbing), or None."""
    row = reserved_row(name)
    return row if row is not None and row.secret_bearing else None
