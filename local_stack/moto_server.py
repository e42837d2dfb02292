"""moto in a thread of this process: the local AWS (SQS, ECS, Secrets Manager, S3, CloudWatch Logs, CloudFormation).

It runs in-process (not as a `moto_server` subprocess) on purpose: the local ECS agent
must set what no ECS API can set (a task's exit code, stopCode and STOPPED state), and it
does that on moto's own backend objects (`moto.ecs.models.ecs_backends`), which are only
reachable from the same process.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import requests

from local_stack import aws_fidelity, event_targets

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

            # `service` is a runtime name, so no stub overload matches.
            self._clients[service] = boto3.session.Session().client(  # type: ignore[call-overload]
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
        aws_fidelity.install()  # refuse what AWS refuses, honour RunTask's clientToken
        event_targets.install()  # EventBridge rules deliver to SNS topics

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


def set_manual_task_transitions() -> None:
    """Tasks stay RUNNING however often they are described, until the agent (or StopTask) stops them."""
    from moto.moto_api import state_manager

    state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": NEVER})


def reset_task_transitions() -> None:
    from moto.moto_api import state_manager

    state_manager.unset_transition("ecs::task")
