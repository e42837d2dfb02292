"""What ECS enforces and moto 5.2.5 in-process does not, for the dispatcher's tests.

- RunTask `clientToken`: the same token and parameters within 24 hours return the task it started
  (in its current state); the same token with other parameters is `ConflictException` naming that task
  in `resourceIds`. moto accepts the token and ignores it.
- ListTasks: `startedBy` must be the only filter; `startedBy` at most 36 characters (as ECS has
  enforced on RunTask and ListTasks).

Installed on boto3's default session (so every client the handler creates afterwards carries it),
only where moto itself does not honour clientToken: once the local stack's moto bridge does, this
stands aside and moto's own behaviour is what the tests see. It also counts the ECS calls made.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import boto3

MAX_STARTED_BY = 36


class _Http:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers: dict[str, str] = {}


def _error(code: str, message: str, **fields: Any) -> tuple[_Http, dict[str, Any]]:
    return _Http(400), {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {}, **fields}


class EcsRules:
    """botocore event handlers on boto3's default session: the ECS rules above, and a count of ECS calls."""

    def __init__(self, account_id: str, region: str, *, emulate_client_token: bool) -> None:
        self.account_id = account_id
        self.region = region
        self.emulate_client_token = emulate_client_token
        self.calls: Counter[str] = Counter()
        self._tokens: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}

    def install(self) -> None:
        events = boto3._get_default_session().events
        events.register("before-call.ecs", self._before_call, unique_id="dispatcher-ecs-rules-before")
        events.register("after-call.ecs.RunTask", self._after_run_task, unique_id="dispatcher-ecs-rules-after")

    def uninstall(self) -> None:
        events = boto3._get_default_session().events
        events.unregister("before-call.ecs", unique_id="dispatcher-ecs-rules-before")
        events.unregister("after-call.ecs.RunTask", unique_id="dispatcher-ecs-rules-after")

    def reset(self) -> None:
        self.calls.clear()
        self._tokens.clear()

    # -- handlers -----------------------------------------------------------------------------
    def _before_call(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> Any:
        self.calls[model.name] += 1
        body = json.loads(params.get("body") or b"{}")
        if model.name == "ListTasks" and "startedBy" in body:
            others = sorted(set(body) - {"cluster", "startedBy", "nextToken", "maxResults"})
            if others:
                return _error(
                    "InvalidParameterException",
                    f"When you specify startedBy as the filter, it must be the only filter; also got {others}",
                )
        if model.name in {"ListTasks", "RunTask"} and len(body.get("startedBy", "")) > MAX_STARTED_BY:
            return _error("InvalidParameterException", "startedBy must be at most 36 characters")
        if model.name == "RunTask" and self.emulate_client_token and body.get("clientToken"):
            return self._replay(body, context)
        return None

    def _replay(self, body: dict[str, Any], context: dict[str, Any]) -> Any:
        key = (self._cluster_name(body.get("cluster", "default")), body["clientToken"])
        if key not in self._tokens:
            context["dispatcher_ecs_rules_token"] = (key, body)
            return None
        first_body, task_arn = self._tokens[key]
        if first_body != body:
            return _error(
                "ConflictException",
                "The specified client token is already in use with a different RunTask request.",
                resourceIds=[task_arn],
            )
        return _Http(200), {"tasks": [self._current(key[0], task_arn)], "failures": [], "ResponseMetadata": {}}

    def _after_run_task(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        pending = context.pop("dispatcher_ecs_rules_token", None)
        tasks = parsed.get("tasks") or []
        if pending and tasks:
            key, body = pending
            self._tokens[key] = (body, tasks[0]["taskArn"])

    # -- moto's state, read without moving it forward (DescribeTasks would) -----------------------
    def _current(self, cluster_name: str, task_arn: str) -> dict[str, Any]:
        from moto.ecs.models import ecs_backends

        task = ecs_backends[self.account_id][self.region].tasks[cluster_name][task_arn]
        return {
            "taskArn": task_arn,
            "lastStatus": task.last_status,
            "desiredStatus": task.desired_status,
            "startedBy": task.started_by,
        }

    @staticmethod
    def _cluster_name(cluster: str) -> str:
        return cluster.rsplit("/", 1)[-1]


def moto_honours_client_token(ecs: Any, request: dict[str, Any]) -> bool:
    """Probe: two RunTasks with one token; True when moto returned the same task (then stop it)."""
    request = {**request, "clientToken": "probe-client-token", "startedBy": "probe"}
    first = ecs.run_task(**request)["tasks"][0]["taskArn"]
    second = ecs.run_task(**request)["tasks"][0]["taskArn"]
    return first == second
