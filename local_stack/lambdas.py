"""The template's functions, each run in its own processes the way Lambda runs them.

Each function's handler path and environment are read back from moto (where CloudFormation
created them from template.yaml), so the local stack runs exactly what the template configures.
Like Lambda, a function runs in execution environments of its own (`lambda_worker.py` processes):
only its own environment, its module state and caches its own, kept warm between invocations, one
invocation at a time per environment, a new environment when all are busy. Events and responses
cross as JSON, as they do in Lambda.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import IO, Any

logger = logging.getLogger(__name__)

#: What every execution environment inherits from this process (the rest is the function's own).
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


class FunctionError(RuntimeError):
    """The handler raised (Lambda's `FunctionError: Unhandled`); carries Lambda's error payload."""

    def __init__(self, function: str, payload: dict[str, Any]) -> None:
        super().__init__(f"{function} failed: {payload.get('errorType')}: {payload.get('errorMessage')}")
        self.payload = payload


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
    """One function of the stack: its configuration as moto holds it, and its execution environments."""

    logical_id: str
    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    timeout_seconds: int = 60
    memory_mb: int = 256
    #: What Lambda's runtime adds (region, credentials; here also the local AWS endpoint).
    runtime_environment: dict[str, str] = field(default_factory=dict)
    _idle: list[_Worker] = field(default_factory=list, repr=False)
    _all: list[_Worker] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

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

    def process_environment(self) -> dict[str, str]:
        """The whole environment of one execution environment: this function's variables and the runtime's."""
        inherited = {name: os.environ[name] for name in INHERITED if name in os.environ}
        path = os.pathsep.join(entry for entry in sys.path if entry)
        return {**inherited, "PYTHONPATH": path, **self.environment, **self.runtime_environment}

    def load(self) -> None:
        """Lambda's init phase: start one warm execution environment (imports and module-level setup)."""
        with self._lock:
            if self._all:
                return
        self._release(self._spawn())

    def invoke(self, event: dict[str, Any]) -> Any:
        """Run the handler on `event` in an idle environment (a new one when all are busy); its JSON response.

        Raises FunctionError when the handler raised, as Lambda answers `FunctionError: Unhandled`.
        """
        worker = self._acquire()
        try:
            answer = worker.call(event, self.timeout_seconds)
        except BaseException:
            worker.stop()  # a timed-out or broken environment is not reused, as Lambda discards it
            with self._lock:
                self._all = [w for w in self._all if w is not worker]
            raise
        self._release(worker)
        if "error" in answer:
            raise FunctionError(self.logical_id, answer["error"])
        return answer.get("response")

    def stop(self) -> None:
        with self._lock:
            workers, self._all, self._idle = self._all, [], []
        for worker in workers:
            worker.stop()

    def _acquire(self) -> _Worker:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._spawn()

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._all:
                self._idle.append(worker)

    def _spawn(self) -> _Worker:
        worker = _Worker.start(self)
        with self._lock:
            self._all.append(worker)
        return worker


class _Worker:
    """One `lambda_worker` process: JSON lines in on stdin, out on stdout; logs on our stderr."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    @classmethod
    def start(cls, function: LocalFunction) -> _Worker:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local_stack.lambda_worker",
                function.handler,
                function.name,
                function.arn,
                str(function.timeout_seconds),
                str(function.memory_mb),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=function.process_environment(),
            text=True,
            encoding="utf-8",
        )
        worker = cls(process)
        ready = worker._read(timeout=120)
        if not ready.get("ready"):
            worker.stop()
            raise FunctionError(function.logical_id, ready.get("error") or {"errorMessage": "init failed"})
        return worker

    def call(self, event: dict[str, Any], timeout: float) -> dict[str, Any]:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(json.dumps(event) + "\n")
        stdin.flush()
        return self._read(timeout)

    def _read(self, timeout: float) -> dict[str, Any]:
        stdout: IO[str] | None = self.process.stdout
        assert stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not result:
            raise TimeoutError(f"the function did not answer within {timeout}s (Lambda: Task timed out)")
        if not result[0]:
            raise FunctionError("worker", {"errorType": "Runtime.ExitError", "errorMessage": "the process exited"})
        return dict(json.loads(result[0]))

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def read_functions(
    aws: Any, physical_ids: dict[str, str], runtime_environment: dict[str, str] | None = None
) -> dict[str, LocalFunction]:
    """Logical id -> LocalFunction, from moto's Lambda `GetFunctionConfiguration`."""
    client = aws.client("lambda")
    functions = {}
    for logical_id, physical_id in physical_ids.items():
        function = LocalFunction.from_configuration(
            logical_id, client.get_function_configuration(FunctionName=physical_id)
        )
        function.runtime_environment = dict(runtime_environment or {})
        functions[logical_id] = function
    return functions
