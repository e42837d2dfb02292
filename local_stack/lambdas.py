"""The template's functions, run in this process the way Lambda would run them.

Each function's handler path and environment are read back from moto (where CloudFormation
created them from template.yaml), so the local stack runs exactly what the template configures.
Events and responses go through a JSON round trip, as they do in Lambda.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
_IMPORT_LOCK = threading.Lock()


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that powertools and the handlers read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class LocalFunction:
    """One function of the stack: its configuration as moto holds it, and a way to call its handler."""

    logical_id: str
    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    timeout_seconds: int = 60
    memory_mb: int = 256
    _callable: Callable[[dict[str, Any], Any], Any] | None = field(default=None, repr=False)

    @classmethod
    def from_configuration(cls, logical_id: str, config: dict[str, Any]) -> LocalFunction:
        return cls(
            logical_id=logical_id,
            name=config["FunctionName"],
            arn=config["FunctionArn"],
            handler=config["Handler"],
            environment={k: str(v) for k, v in ((config.get("Environment") or {}).get("Variables") or {}).items()},
            timeout_seconds=int(config.get("Timeout") or 60),
            memory_mb=int(config.get("MemorySize") or 256),
        )

    def is_named_by(self, arn: str) -> bool:
        """True when `arn` (as a mapping or a rule target spells it) names this function."""
        return arn == self.arn or arn.endswith(f":{self.name}")

    def load(self) -> Callable[[dict[str, Any], Any], Any]:
        """Import the handler (once); the environment must already be in place (see `apply_environment`)."""
        with _IMPORT_LOCK:
            if self._callable is None:
                module_name, _, attribute = self.handler.rpartition(".")
                # Powertools reads the service name when the handler module creates its Logger.
                service = os.environ.get(SERVICE_NAME)
                if SERVICE_NAME in self.environment:
                    os.environ[SERVICE_NAME] = self.environment[SERVICE_NAME]
                try:
                    self._callable = getattr(importlib.import_module(module_name), attribute)
                finally:
                    if service is not None:
                        os.environ[SERVICE_NAME] = service
            return self._callable

    def invoke(self, event: dict[str, Any]) -> Any:
        """Call the handler with a JSON copy of `event` and a fresh context; returns the JSON-decoded response."""
        handler = self.load()
        context = LambdaContext(self.name, self.memory_mb, self.arn, self.timeout_seconds)
        response = handler(json.loads(json.dumps(event)), context)
        return json.loads(json.dumps(response, default=str)) if response is not None else None


def apply_environment(functions: list[LocalFunction], overrides: dict[str, str]) -> dict[str, str]:
    """Put the functions' environment (then `overrides`) into `os.environ`; returns what was set.

    The handlers share this process, so they share one environment: a name two functions set
    differently keeps the first function's value and is logged (template.yaml sets the shared
    names identically on every function).
    """
    merged: dict[str, str] = {}
    for function in functions:
        for name, value in function.environment.items():
            if name in merged and merged[name] != value and name not in overrides and name != SERVICE_NAME:
                logger.info("%s differs between functions; %s keeps %r", name, function.logical_id, merged[name])
                continue
            merged.setdefault(name, value)
    merged.update(overrides)
    os.environ.update(merged)
    return merged


def reset_handler_state(functions: list[LocalFunction]) -> None:
    """Forget what the handlers' modules cached (settings, clients) so that nothing points at a stopped stack.

    Clears every `functools.cache`/`lru_cache` of the handlers' packages and of `executor_common`,
    powertools' parameter providers (their boto3 clients), and sets the handlers' powertools loggers
    to the level the current environment asks for, as a fresh import would.
    """
    import sys

    parameters_base = sys.modules.get("aws_lambda_powertools.utilities.parameters.base")
    if parameters_base is not None:
        # powertools keeps one boto3 client per parameter provider, bound to the endpoint of its first use.
        parameters_base.DEFAULT_PROVIDERS.clear()
    powertools_logging = sys.modules.get("aws_lambda_powertools.logging.logger")
    packages = {f.handler.split(".", 1)[0] for f in functions} | {"executor_common"}
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".", 1)[0] not in packages:
            continue
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                value.cache_clear()
            elif powertools_logging is not None and isinstance(value, powertools_logging.Logger):
                value.setLevel(None)  # as at import: POWERTOOLS_LOG_LEVEL of the current environment, else INFO


def read_functions(aws: Any, physical_ids: dict[str, str]) -> dict[str, LocalFunction]:
    """Logical id -> LocalFunction, from moto's Lambda `GetFunctionConfiguration`."""
    client = aws.client("lambda")
    return {
        logical_id: LocalFunction.from_configuration(
            logical_id, client.get_function_configuration(FunctionName=physical_id)
        )
        for logical_id, physical_id in physical_ids.items()
    }
