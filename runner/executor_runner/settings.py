"""The runner's settings: one model, read once from the container environment and validated at start.

Every field is read from exactly one variable, by its exact (case-sensitive) name, and only the
names listed here are read: a variable the run request could set (a per-source extra env var)
never becomes a setting, and nothing here switches the runner into a test mode. The raw
environment is used for one other thing only: the values of the run's attached secrets, whose
names the run spec lists (`Run` reads them).

Set by the task definition / the dispatcher's overrides:

| Variable | Meaning |
|---|---|
| `DATAHUB_GMS_URL` | DataHub GMS base URL (required) |
| `DATAHUB_GMS_TOKEN` | token for GMS; the child gets it only inside its recipe's sink to this GMS (secret) |
| `EXECUTOR_RUN_SPEC` / `EXECUTOR_RUN_SPEC_URI` | the run spec inline, or `s3://bucket/runs/<id>/spec.json` |
| `EXECUTOR_EXECUTION_REQUEST_URN` | where to report even when the spec cannot be read |
| `RUN_BUCKET` | when set, the masked full log and report go to `s3://RUN_BUCKET/runs/<id>/` |
| `ECS_CONTAINER_METADATA_URI_V4` | set by ECS; gives the task ARN and memory limit |
| `AWS_CONTAINER_*`, `AWS_REGION`, `AWS_DEFAULT_REGION` | set by ECS; the task role (see RUNNER_FORWARD_TASK_ROLE) |
| `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY` | the operator's proxy for run-time installs (task definition) |
| `PATH`, `HOME`, `LANG` | the image's; the child and the installer start from these |
| `POWERTOOLS_LOG_LEVEL` | the runner's own log level |
| `DATAHUB_SECRET_STORE_ENABLED` | `true` (default): read the spec's `datahub_secret_names` from DataHub |

The run timeout has one source, the run spec's `run_timeout_seconds` (the dispatcher computes it
from the per-source `EXECUTOR_RUN_TIMEOUT_SECONDS`; the same value on the container is only for
the reconciler's sweeper, which cannot read the spec).

Runner tuning (all optional):

| Variable | Default | Meaning |
|---|---|---|
| `RUNNER_PROGRESS_INTERVAL_SECONDS` | 5 | at most one RUNNING progress write per interval, only when the tail changed |
| `RUNNER_PROGRESS_TAIL_LINES` | 50 | lines of log tail in a progress write |
| `RUNNER_PROGRESS_TAIL_BYTES` | 4096 | bytes of log tail in a progress write (keeps GMS traffic small) |
| `RUNNER_STALE_LOG_SECONDS` | 120 | after this long without output the progress tail says the logs look stale |
| `RUNNER_KILL_GRACE_SECONDS` | 30 | SIGTERM → SIGKILL grace for the child; must be below the stopTimeout (120 s) |
| `RUNNER_TERMINAL_WRITE_DEADLINE_SECONDS` | 900 | how long the final status write is retried while GMS is down |
| `RUNNER_TAIL_MAX_LINES` | 5000 | lines of log kept in memory for the final report |
| `RUNNER_TAIL_MAX_BYTES` | 393216 | bytes of log tail in the final report |
| `RUNNER_ALLOW_RUNTIME_INSTALLS` | true | install missing plugins, extras, other CLI versions, extra pip requirements |
| `RUNNER_PIP_INDEX_URL` | (PyPI) | package index for run-time installs (e.g. a CodeArtifact mirror) |
| `RUNNER_PIP_EXTRA_INDEX_URL` | — | an extra package index |
| `RUNNER_INSTALL_TIMEOUT_SECONDS` | 900 | a run-time install that takes longer fails the run |
| `RUNNER_DATAHUB_COMMAND` | `datahub` beside the interpreter | path of the `datahub` CLI |
| `RUNNER_WORK_DIR` | system temp dir | where the per-run folder (TMPDIR, report, full log, venv) is created |
| `RUNNER_MAX_LOG_FILE_BYTES` | 536870912 | cap on the full masked log kept for the run folder |
| `RUNNER_FORWARD_TASK_ROLE` | false | give the child the task role (`AWS_CONTAINER_CREDENTIALS_*`, `AWS_REGION`) |
| `RUNNER_GMS_TIMEOUT_SECONDS` | 5 | HTTP timeout of each GMS call |
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: ECS sends SIGKILL this long after SIGTERM (the task definition's stopTimeout).
TASK_STOP_TIMEOUT_SECONDS = 120


def _env(name: str, default: Any = None, **constraints: Any) -> Any:
    """A field read from the variable `name` only (no prefix, no field-name fallback)."""
    return Field(default=default, validation_alias=name, **constraints)


class RunnerSettings(BaseSettings):
    # case_sensitive: `runner_child_command` is not `RUNNER_...`; no populate_by_name: it would also
    # read a variable named like the field (`gms_url`).
    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore")

    gms_url: str = Field(validation_alias="DATAHUB_GMS_URL", min_length=1)
    gms_token: SecretStr | None = _env("DATAHUB_GMS_TOKEN")
    run_spec: str | None = _env("EXECUTOR_RUN_SPEC")
    run_spec_uri: str | None = _env("EXECUTOR_RUN_SPEC_URI")
    execution_request_urn: str | None = _env("EXECUTOR_EXECUTION_REQUEST_URN")
    run_bucket: str | None = _env("RUN_BUCKET")
    metadata_uri: str | None = _env("ECS_CONTAINER_METADATA_URI_V4")
    log_level: str = _env("POWERTOOLS_LOG_LEVEL", "INFO")

    # What the child and the installer inherit (the image's, never the request's).
    path: str = _env("PATH", "/usr/local/bin:/usr/bin:/bin")
    home: str | None = _env("HOME")
    lang: str = _env("LANG", "C.UTF-8")
    https_proxy: str | None = _env("HTTPS_PROXY")
    http_proxy: str | None = _env("HTTP_PROXY")
    no_proxy: str | None = _env("NO_PROXY")
    container_credentials_relative_uri: str | None = _env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    container_credentials_full_uri: str | None = _env("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    container_authorization_token: SecretStr | None = _env("AWS_CONTAINER_AUTHORIZATION_TOKEN")
    aws_region: str | None = _env("AWS_REGION")
    aws_default_region: str | None = _env("AWS_DEFAULT_REGION")

    progress_interval_seconds: float = _env("RUNNER_PROGRESS_INTERVAL_SECONDS", 5.0, gt=0)
    progress_tail_lines: int = _env("RUNNER_PROGRESS_TAIL_LINES", 50, gt=0)
    progress_tail_bytes: int = _env("RUNNER_PROGRESS_TAIL_BYTES", 4096, gt=0)
    stale_log_seconds: float = _env("RUNNER_STALE_LOG_SECONDS", 120.0, gt=0)
    kill_grace_seconds: float = _env("RUNNER_KILL_GRACE_SECONDS", 30.0, gt=0)
    terminal_write_deadline_seconds: float = _env("RUNNER_TERMINAL_WRITE_DEADLINE_SECONDS", 900.0, ge=0)
    tail_max_lines: int = _env("RUNNER_TAIL_MAX_LINES", 5000, gt=0)
    tail_max_bytes: int = _env("RUNNER_TAIL_MAX_BYTES", 384 * 1024, gt=0)
    allow_runtime_installs: bool = _env("RUNNER_ALLOW_RUNTIME_INSTALLS", True)
    pip_index_url: str | None = _env("RUNNER_PIP_INDEX_URL")
    pip_extra_index_url: str | None = _env("RUNNER_PIP_EXTRA_INDEX_URL")
    install_timeout_seconds: float = _env("RUNNER_INSTALL_TIMEOUT_SECONDS", 900.0, gt=0)
    datahub_command: str | None = _env("RUNNER_DATAHUB_COMMAND")
    work_dir: Path = Field(default_factory=lambda: Path(tempfile.gettempdir()), validation_alias="RUNNER_WORK_DIR")
    max_log_file_bytes: int = _env("RUNNER_MAX_LOG_FILE_BYTES", 512 * 1024 * 1024, gt=0)
    forward_task_role: bool = _env("RUNNER_FORWARD_TASK_ROLE", False)
    gms_timeout_seconds: float = _env("RUNNER_GMS_TIMEOUT_SECONDS", 5.0, gt=0)
    #: Off: the runner never asks DataHub for a secret value (template.yaml `DataHubSecretStore`).
    datahub_secret_store_enabled: bool = _env("DATAHUB_SECRET_STORE_ENABLED", True)
    # Cost and right size (issue 15): the stack's price table and capacity, the cgroup to read usage from.
    fargate_prices: str = _env("FARGATE_PRICES", "0.04048,0.004445,0.000111")
    spot_price_factor: float = _env("SPOT_PRICE_FACTOR", 0.3, ge=0, le=1)
    capacity_provider: str = _env("CAPACITY_PROVIDER", "FARGATE")
    cgroup_root: Path = _env("RUNNER_CGROUP_ROOT", Path("/sys/fs/cgroup"))
    usage_sample_seconds: float = _env("RUNNER_USAGE_SAMPLE_SECONDS", 5.0, gt=0)
    #: Run-state events (issue 15): PutEvents to this bus ("" = off).
    event_bus_name: str | None = _env("EVENT_BUS_NAME")

    @field_validator("kill_grace_seconds")
    @classmethod
    def _grace_below_stop_timeout(cls, value: float) -> float:
        if value >= TASK_STOP_TIMEOUT_SECONDS:
            raise ValueError(
                f"must be below the task's stopTimeout ({TASK_STOP_TIMEOUT_SECONDS}s), "
                "or ECS kills the runner before it can report"
            )
        return value

    @field_validator("fargate_prices")
    @classmethod
    def _valid_prices(cls, value: str) -> str:
        from executor_common.cost import PriceTable

        PriceTable.parse(value)
        return value

    @field_validator("gms_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def token(self) -> str | None:
        return self.gms_token.get_secret_value() if self.gms_token else None

    def task_role_env(self) -> dict[str, str]:
        """The ECS task-role variables, for a child allowed to use the task role."""
        values = {
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": self.container_credentials_relative_uri,
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": self.container_credentials_full_uri,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": (
                self.container_authorization_token.get_secret_value() if self.container_authorization_token else None
            ),
            "AWS_REGION": self.aws_region,
            "AWS_DEFAULT_REGION": self.aws_default_region,
        }
        return {name: value for name, value in values.items() if value}

    def proxy_env(self) -> dict[str, str]:
        """The operator's proxy, in both spellings tools read."""
        env: dict[str, str] = {}
        for name, value in (
            ("HTTPS_PROXY", self.https_proxy),
            ("HTTP_PROXY", self.http_proxy),
            ("NO_PROXY", self.no_proxy),
        ):
            if value:
                env[name] = env[name.lower()] = value
        return env

    def datahub_argv(self) -> list[str]:
        """The CLI to run: the configured path, else the `datahub` script beside this interpreter."""
        if self.datahub_command:
            return [self.datahub_command]
        beside = Path(sys.executable).parent / "datahub"
        if beside.exists():
            return [str(beside)]
        return [shutil.which("datahub") or "datahub"]
