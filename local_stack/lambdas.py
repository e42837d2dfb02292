"""The template's functions, each run in its own processes the way Lambda runs them.

Each function's handler path and environment are read back from moto (where CloudFormation
created them from template.yaml), so the local stack runs exactly what the template configures.
Like Lambda, a function runs in execution environments of its own (`lambda_worker.py` processes):
only its own environment, its module state and caches its own, kept warm between invocations, one
invocation at a time per environment, a new environment when all are busy. Events and responses
cross as JSON, as they do in Lambda. What an environment prints goes, line by line, to the function's
CloudWatch Logs group in moto (as Lambda ships stdout and stderr), one stream per environment; that is
where CloudWatch would read the handlers' EMF metrics. Log lines are also echoed to this process's
stderr for whoever watches the stack; EMF documents are not (they are metrics, not something to read).
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


def default_log_group(function_name: str) -> str:
    """Where Lambda sends a function's output when its LoggingConfig names no group."""
    return f"/aws/lambda/{function_name}"


def log_stream_name() -> str:
    """A new execution environment's stream, as Lambda names it: `2026/12/06/[$LATEST]<32 hex>`."""
    return time.strftime("%Y/%m/%d", time.gmtime()) + "/[$LATEST]" + uuid.uuid4().hex


def is_emf(line: str) -> bool:
    """True for a CloudWatch embedded-metric-format document (a JSON object whose `_aws` has `CloudWatchMetrics`)."""
    if not line.startswith("{") or '"_aws"' not in line:
        return False
    try:
        document = json.loads(line)
    except ValueError:
        return False
    return isinstance(document, dict) and "CloudWatchMetrics" in (document.get("_aws") or {})


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
        # Lambda's runtime names the environment's group and stream in these variables.
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME") or default_log_group(self.function_name)
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME") or self.log_stream_name

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
    #: The group Lambda writes the function's output to: its LoggingConfig's, else `/aws/lambda/<name>`.
    log_group: str = ""
    #: A CloudWatch Logs client for that group (the local stack's moto); None: output is only echoed.
    logs: Any = field(default=None, repr=False)
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

    def __post_init__(self) -> None:
        self.log_group = self.log_group or default_log_group(self.name)

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
    """One `lambda_worker` process: JSON lines in on stdin, out on stdout; its output to the function's log group."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    @classmethod
    def start(cls, function: LocalFunction) -> _Worker:
        stream = log_stream_name()
        environment = {
            **function.process_environment(),
            "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        }
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
            stderr=subprocess.PIPE,
            env=environment,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        output = _LogShipper(function.logs, function.log_group, stream)
        threading.Thread(target=output.ship, args=(process.stderr,), name="function-logs", daemon=True).start()
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


class _LogShipper:
    """Ships one execution environment's output to its log stream, as Lambda does (best effort: never blocks it)."""

    def __init__(self, logs: Any, group: str, stream: str) -> None:
        self._logs = logs
        self._group = group
        self._stream = stream

    def ship(self, output: IO[str]) -> None:
        self._create_stream()
        for line in output:
            text = line.rstrip("\n")
            if not is_emf(text):
                os.write(2, line.encode("utf-8", "replace"))  # this process's stderr, which the worker used to inherit
            if text.strip() and self._logs is not None:
                self._put(text)

    def _create_stream(self) -> None:
        if self._logs is None:
            return
        try:
            with contextlib.suppress(self._logs.exceptions.ResourceAlreadyExistsException):
                self._logs.create_log_group(logGroupName=self._group)  # Lambda creates a missing group
            self._logs.create_log_stream(logGroupName=self._group, logStreamName=self._stream)
        except Exception as exc:  # the local AWS is gone (the stack is stopping): echo only
            logger.debug("Not shipping to %s: %s", self._group, exc)
            self._logs = None

    def _put(self, message: str) -> None:
        event = {"timestamp": int(time.time() * 1000), "message": message}
        try:
            self._logs.put_log_events(logGroupName=self._group, logStreamName=self._stream, logEvents=[event])
        except Exception as exc:  # the local AWS is gone (the stack is stopping): echo only
            logger.debug("Stopped shipping to %s: %s", self._group, exc)
            self._logs = None


def read_functions(
    aws: Any,
    physical_ids: dict[str, str],
    runtime_environment: dict[str, str] | None = None,
    log_groups: dict[str, str] | None = None,
) -> dict[str, LocalFunction]:
    """Logical id -> LocalFunction, from moto's Lambda `GetFunctionConfiguration`.

    `log_groups` (logical id -> group) carries each function's `LoggingConfig.LogGroup`, which moto
    does not keep; a function without one logs to `/aws/lambda/<name>`, as on Lambda.
    """
    client = aws.client("lambda")
    functions = {}
    for logical_id, physical_id in physical_ids.items():
        function = LocalFunction.from_configuration(
            logical_id, client.get_function_configuration(FunctionName=physical_id)
        )
        function.runtime_environment = dict(runtime_environment or {})
        function.log_group = (log_groups or {}).get(logical_id) or function.log_group
        function.logs = aws.client("logs")
        functions[logical_id] = function
    return functions
