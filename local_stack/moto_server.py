"""moto in a thread of this process: the local AWS (SQS, ECS, Secrets Manager, S3, CloudWatch Logs, CloudFormation).

It runs in-process (not as a `moto_server` subprocess) on purpose: the local ECS agent
must set what no ECS API can set (a task's exit code, stopCode and STOPPED state), and it
does that on moto's own backend objects (`moto.ecs.models.ecs_backends`), which are only
reachable from the same process.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any

import requests

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
#: moto accepts any credentials; these make sure nothing ever reaches a real account.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
#: moto advances a task one state per DescribeTasks; this many describes makes that "never",
#: so the local agent alone decides when a task stops.
NEVER = 10**12


def aws_environment(endpoint_url: str, region: str = REGION) -> dict[str, str]:
    """Environment that points boto3 (in this process or a subprocess) at moto and nowhere else."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        **FAKE_CREDENTIALS,
    }


@dataclass
class LocalAws:
    """Where the local AWS answers, and boto3 clients bound to it (never to the environment's profile)."""

    endpoint_url: str
    region: str = REGION
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            import boto3
            from botocore.config import Config

            self._clients[service] = boto3.session.Session().client(
                service,
                endpoint_url=self.endpoint_url,
                region_name=self.region,
                aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
                config=Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=32),
            )
        return self._clients[service]


class MotoServer:
    """A `ThreadedMotoServer` on 127.0.0.1 and a free port, configured for the local stack."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._server: Any = None
        self.endpoint_url = ""

    def start(self) -> MotoServer:
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address=self._host, port=self._port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        self._configure()
        return self

    def _configure(self) -> None:
        # Lambda functions from the template are created but never run by moto (no Docker):
        # the local stack drives the handlers itself.
        requests.post(f"{self.endpoint_url}/moto-api/config", json={"lambda": {"use_docker": False}}, timeout=10)
        set_manual_task_transitions()
        honour_run_task_client_token()

    def aws(self) -> LocalAws:
        return LocalAws(self.endpoint_url)

    def stop(self) -> None:
        if self._server is not None:
            # moto's backends are process-wide: leave nothing behind for code that runs after the stack.
            with contextlib.suppress(requests.RequestException):
                requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=10)
            self._server.stop()
            self._server = None
        reset_task_transitions()
        restore_run_task()


_RUN_TASK_TOKENS: dict[tuple[str, str], list[Any]] = {}
_RUN_TASK_LOCK = threading.Lock()


def honour_run_task_client_token() -> None:
    """Make moto's RunTask idempotent on `clientToken`, as ECS is (moto accepts the token and ignores it).

    A second RunTask with the same cluster and token returns the tasks of the first instead of
    launching more, which is what makes a redelivered command launch nothing new on AWS.
    """
    from moto.core.responses import ActionResult
    from moto.ecs.responses import EC2ContainerServiceResponse

    if getattr(EC2ContainerServiceResponse.run_task, "_honours_client_token", False):
        return
    original = EC2ContainerServiceResponse.run_task

    def run_task(self: Any) -> Any:
        token = self._get_param("clientToken")
        if not token:
            return original(self)
        key = (str(self._get_param("cluster", "default")), str(token))
        with _RUN_TASK_LOCK:
            if key not in _RUN_TASK_TOKENS:
                result = original(self)
                _RUN_TASK_TOKENS[key] = list(result.result["tasks"])
                return result
            return ActionResult({"tasks": _RUN_TASK_TOKENS[key], "failures": []})

    run_task._honours_client_token = True  # type: ignore[attr-defined]
    run_task._original = original  # type: ignore[attr-defined]
    EC2ContainerServiceResponse.run_task = run_task  # type: ignore[method-assign]


def restore_run_task() -> None:
    """Undo `honour_run_task_client_token` (tests in the same process may rely on moto's own behaviour)."""
    from moto.ecs.responses import EC2ContainerServiceResponse

    original = getattr(EC2ContainerServiceResponse.run_task, "_original", None)
    if original is not None:
        EC2ContainerServiceResponse.run_task = original  # type: ignore[method-assign]
    with _RUN_TASK_LOCK:
        _RUN_TASK_TOKENS.clear()


def set_manual_task_transitions() -> None:
    """Tasks stay RUNNING however often they are described, until the agent (or StopTask) stops them."""
    from moto.moto_api import state_manager

    state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": NEVER})


def reset_task_transitions() -> None:
    from moto.moto_api import state_manager

    state_manager.unset_transition("ecs::task")
