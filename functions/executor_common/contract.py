"""The message contract: DataHub's own execution-request aspects, as carried on the command queue.

This is the one place these shapes are defined; the dispatcher, the runner, the
reconciler, the local stack and the forwarder all import them from here.
Unknown extra fields are tolerated everywhere because newer DataHub versions add some.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from executor_common.json_peek import string_member, top_level_members
from executor_common.tolerant import TolerantModel as _Tolerant

EXECUTION_REQUEST_URN_PREFIX = "urn:li:dataHubExecutionRequest:"
INPUT_ASPECT = "dataHubExecutionRequestInput"
SIGNAL_ASPECT = "dataHubExecutionRequestSignal"
RESULT_ASPECT = "dataHubExecutionRequestResult"
EXECUTION_REQUEST_ENTITY = "dataHubExecutionRequest"


class ExecutionTask(StrEnum):
    RUN_INGEST = "RUN_INGEST"
    TEST_CONNECTION = "TEST_CONNECTION"


class SourceType(StrEnum):
    MANUAL_INGESTION_SOURCE = "MANUAL_INGESTION_SOURCE"
    SCHEDULED_INGESTION_SOURCE = "SCHEDULED_INGESTION_SOURCE"
    MANUAL_TEST_CONNECTION = "MANUAL_TEST_CONNECTION"
    CLI_INGESTION_SOURCE = "CLI_INGESTION_SOURCE"


def execution_id_from_urn(urn: str) -> str:
    """`urn:li:dataHubExecutionRequest:<id>` -> `<id>`; raises ValueError otherwise."""
    if not isinstance(urn, str) or not urn.startswith(EXECUTION_REQUEST_URN_PREFIX):
        raise ValueError(f"entityUrn must start with {EXECUTION_REQUEST_URN_PREFIX!r}, got {urn!r}")
    execution_id = urn[len(EXECUTION_REQUEST_URN_PREFIX) :]
    if not execution_id or any(c.isspace() for c in execution_id):
        raise ValueError(f"entityUrn has an empty or malformed id: {urn!r}")
    return execution_id


ExecutionRequestUrn = Annotated[str, Field(min_length=len(EXECUTION_REQUEST_URN_PREFIX) + 1)]


class ExecutionRequestSource(_Tolerant):
    type: SourceType | str
    ingestionSource: str | None = None


class ExecutionRequestInput(_Tolerant):
    """`dataHubExecutionRequestInput`: every `args` value is a string, as DataHub sends it."""

    task: ExecutionTask
    args: dict[str, str] = Field(default_factory=dict)
    executorId: str
    source: ExecutionRequestSource
    requestedAt: int
    actorUrn: str | None = None


class AuditStamp(_Tolerant):
    time: int
    actor: str


class ExecutionRequestSignal(_Tolerant):
    """`dataHubExecutionRequestSignal`: only KILL is defined by DataHub today.

    `executorId` is optional in ExecutionRequestSignal.pdl (the cancel resolver copies the
    source's *current* executor id, which may be absent): such a signal may still be ours.
    """

    signal: str
    executorId: str | None = None
    createdAt: AuditStamp | None = None


def _unwrap_generic_aspect(value: Any) -> Any:
    """Accept DataHub's GenericAspect form `{"value": "<json>", "contentType": ...}` as well."""
    if isinstance(value, dict) and set(value) <= {"value", "contentType"} and isinstance(value.get("value"), str):
        return json.loads(value["value"])
    return value


class _Command(_Tolerant):
    entityUrn: ExecutionRequestUrn

    @field_validator("entityUrn")
    @classmethod
    def _urn_is_an_execution_request(cls, value: str) -> str:
        execution_id_from_urn(value)
        return value

    @field_validator("aspect", mode="before", check_fields=False)
    @classmethod
    def _unwrap(cls, value: Any) -> Any:
        return _unwrap_generic_aspect(value)

    @property
    def execution_id(self) -> str:
        return execution_id_from_urn(self.entityUrn)


class RunCommand(_Command):
    aspectName: Literal["dataHubExecutionRequestInput"]
    aspect: ExecutionRequestInput

    @property
    def executor_id(self) -> str:
        return self.aspect.executorId


class SignalCommand(_Command):
    aspectName: Literal["dataHubExecutionRequestSignal"]
    aspect: ExecutionRequestSignal

    @property
    def executor_id(self) -> str | None:
        return self.aspect.executorId


Command = Annotated[Union[RunCommand, SignalCommand], Field(discriminator="aspectName")]
COMMAND_ADAPTER: TypeAdapter[RunCommand | SignalCommand] = TypeAdapter(Command)


def parse_command(body: str | bytes | dict[str, Any]) -> RunCommand | SignalCommand:
    """Parse one queue message body; raises pydantic.ValidationError or ValueError."""
    if isinstance(body, dict):
        return COMMAND_ADAPTER.validate_python(body)
    return COMMAND_ADAPTER.validate_json(body)


def recover_execution_urn(body: str | bytes | dict[str, Any] | None) -> str | None:
    """Best effort: the execution-request URN of a message that failed to parse, if any.

    Reads only the top level (executor_common.json_peek), so deep nesting or a huge number
    elsewhere in the message does not hide the URN.
    """
    urn = body.get("entityUrn") if isinstance(body, dict) else string_member(top_level_members(body), "entityUrn")
    try:
        execution_id_from_urn(urn)  # type: ignore[arg-type]
    except ValueError:
        return None
    return urn


def _json_string(value: str, expected: type, name: str) -> Any:
    if value is None or value.strip() == "":
        return expected()
    try:
        decoded = json.loads(value)
    except ValueError as exc:
        raise ValueError(f"args.{name} is not valid JSON: {exc}") from None
    if not isinstance(decoded, expected):
        raise ValueError(f"args.{name} must be a JSON {expected.__name__} encoded as a string")
    return decoded


class RunArgs(BaseModel):
    """The typed view of `ExecutionRequestInput.args` (all strings on the wire)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    recipe: str
    version: str | None = None
    debug_mode: bool = Field(default=False, validation_alias="debug_mode")
    extra_env_vars: dict[str, str] = Field(default_factory=dict)
    extra_pip_requirements: list[str] = Field(default_factory=list)
    #: The UI's "Extra DataHub plugins": extras installed with the CLI, `acryl-datahub[<source>,<plugins>]`.
    extra_pip_plugins: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _decode_strings(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "debug_mode" not in data and "debugMode" in data:
            data["debug_mode"] = data["debugMode"]
        raw_debug = str(data.get("debug_mode") or "false").strip().lower()
        if raw_debug not in {"true", "false"}:
            raise ValueError(f"args.debug_mode must be 'true' or 'false', got {raw_debug!r}")
        data["debug_mode"] = raw_debug == "true"
        env = _json_string(data.get("extra_env_vars", ""), dict, "extra_env_vars")
        if not all(isinstance(k, str) and isinstance(v, str | int | float | bool) for k, v in env.items()):
            raise ValueError("args.extra_env_vars must map names to string values")
        data["extra_env_vars"] = {k: str(v) for k, v in env.items()}
        pips = _json_string(data.get("extra_pip_requirements", ""), list, "extra_pip_requirements")
        if not all(isinstance(p, str) and p.strip() for p in pips):
            raise ValueError("args.extra_pip_requirements must be a list of non-empty strings")
        data["extra_pip_requirements"] = pips
        plugins = _json_string(data.get("extra_pip_plugins", ""), list, "extra_pip_plugins")
        if not all(isinstance(p, str) and p.strip() for p in plugins):
            raise ValueError("args.extra_pip_plugins must be a list of non-empty strings")
        data["extra_pip_plugins"] = plugins
        if data.get("version") is not None and str(data["version"]).strip() == "":
            data["version"] = None
        return data

    @classmethod
    def from_input(cls, request: ExecutionRequestInput) -> RunArgs:
        if "recipe" not in request.args:
            raise ValueError("args.recipe is missing")
        return cls.model_validate(request.args)
