"""The runner's settings, read once from the container environment and validated at start.

Set by the task definition / the dispatcher's overrides (not prefixed):

| Variable | Meaning |
|---|---|
| `DATAHUB_GMS_URL` | DataHub GMS, ending in `/gms` (required) |
| `DATAHUB_GMS_TOKEN` | token for GMS and for the child's default datahub-rest sink (secret) |
| `EXECUTOR_RUN_SPEC` / `EXECUTOR_RUN_SPEC_URI` | the run spec inline, or `s3://bucket/runs/<id>/spec.json` |
| `EXECUTOR_EXECUTION_REQUEST_URN` | where to report even when the spec cannot be read |
| `EXECUTOR_RUN_TIMEOUT_SECONDS` | run timeout; overrides the spec's `run_timeout_seconds` |
| `EXECUTOR_CHILD_ENV_NAMES` | comma-separated names of env vars forwarded to `datahub ingest` |
| `RUN_BUCKET` | when set, the masked full log and report go to `s3://RUN_BUCKET/runs/<id>/` |
| `ECS_CONTAINER_METADATA_URI_V4` | set by ECS; gives the task ARN and memory limit |

Runner tuning (`RUNNER_` prefix, all optional):

| Variable | Default | Meaning |
|---|---|---|
| `RUNNER_PROGRESS_INTERVAL_SECONDS` | 5 | at most one RUNNING progress write per interval, only when the tail changed |
| `RUNNER_PROGRESS_TAIL_LINES` | 50 | lines of log tail in a progress write |
| `RUNNER_PROGRESS_TAIL_BYTES` | 4096 | bytes of log tail in a progress write (keeps GMS traffic small) |
| `RUNNER_STALE_LOG_SECONDS` | 120 | after this long without output the progress tail says the logs look stale |
| `RUNNER_KILL_GRACE_SECONDS` | 30 | SIGTERM → SIGKILL grace for the child; must be below the stopTimeout (120 s) |
| `RUNNER_TERMINAL_WRITE_DEADLINE_SECONDS` | 900 | how long the final status write is retried while GMS is down |
| `RUNNER_TAIL_MAX_LINES` | 1000 | lines of log kept in memory for the final report |
| `RUNNER_TAIL_MAX_BYTES` | 65536 | bytes of log tail in the final report |
| `RUNNER_ALLOW_RUNTIME_INSTALLS` | true | install missing plugins, other CLI versions, extra pip requirements |
| `RUNNER_PIP_INDEX_URL` | (PyPI) | package index for run-time installs (e.g. a CodeArtifact mirror) |
| `RUNNER_PIP_EXTRA_INDEX_URL` | — | an extra package index |
| `RUNNER_INSTALL_TIMEOUT_SECONDS` | 900 | a run-time install that takes longer fails the run |
| `RUNNER_DATAHUB_COMMAND` | `datahub` beside the interpreter | path of the `datahub` CLI |
| `RUNNER_CHILD_COMMAND` | — | TESTS ONLY: JSON argv run instead of `datahub ingest` (`{report_file}` is substituted) |
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

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: ECS sends SIGKILL this long after SIGTERM (the task definition's stopTimeout).
TASK_STOP_TIMEOUT_SECONDS = 120


class RunnerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RUNNER_", extra="ignore", populate_by_name=True)

    gms_url: str = Field(validation_alias="DATAHUB_GMS_URL", min_length=1)
    gms_token: SecretStr | None = Field(default=None, validation_alias="DATAHUB_GMS_TOKEN")
    run_bucket: str | None = Field(default=None, validation_alias="RUN_BUCKET")
    metadata_uri: str | None = Field(default=None, validation_alias="ECS_CONTAINER_METADATA_URI_V4")

    progress_interval_seconds: float = Field(default=5.0, gt=0)
    progress_tail_lines: int = Field(default=50, gt=0)
    progress_tail_bytes: int = Field(default=4096, gt=0)
    stale_log_seconds: float = Field(default=120.0, gt=0)
    kill_grace_seconds: float = Field(default=30.0, gt=0)
    terminal_write_deadline_seconds: float = Field(default=900.0, ge=0)
    tail_max_lines: int = Field(default=1000, gt=0)
    tail_max_bytes: int = Field(default=64 * 1024, gt=0)
    allow_runtime_installs: bool = True
    pip_index_url: str | None = None
    pip_extra_index_url: str | None = None
    install_timeout_seconds: float = Field(default=900.0, gt=0)
    datahub_command: str | None = None
    child_command: list[str] | None = None
    work_dir: Path = Field(default_factory=lambda: Path(tempfile.gettempdir()))
    max_log_file_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    forward_task_role: bool = False
    gms_timeout_seconds: float = Field(default=5.0, gt=0)

    @field_validator("kill_grace_seconds")
    @classmethod
    def _grace_below_stop_timeout(cls, value: float) -> float:
        if value >= TASK_STOP_TIMEOUT_SECONDS:
            raise ValueError(
                f"must be below the task's stopTimeout ({TASK_STOP_TIMEOUT_SECONDS}s), "
                "or ECS kills the runner before it can report"
            )
        return value

    @field_validator("gms_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def token(self) -> str | None:
        return self.gms_token.get_secret_value() if self.gms_token else None

    def datahub_argv(self) -> list[str]:
        """The CLI to run: the configured path, else the `datahub` script beside this interpreter."""
        if self.datahub_command:
            return [self.datahub_command]
        beside = Path(sys.executable).parent / "datahub"
        if beside.exists():
            return [str(beside)]
        return [shutil.which("datahub") or "datahub"]
