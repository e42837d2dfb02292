"""`make invoke FUNCTION=DispatcherFunction EVENT=events/run_ingest.json`: one handler, one event, its response.

Locally (the default) the function runs in a process of its own against the local stack that
`.local/stack.json` describes when that stack is alive (`make local-up` in another terminal),
else against a stack started here for the call. With `--aws` (AWS credentials in the
environment or `AWS_PROFILE`, and `--stack-name` or `STACK_NAME`), it invokes the deployed
function of that CloudFormation stack with boto3 `lambda.invoke` and prints its response.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any, TextIO

import requests

from local_stack.lambdas import FunctionError, LocalFunction
from local_stack.moto_server import ACCOUNT_ID, LocalAws
from local_stack.stack import DEFAULT_STATE_FILE, LocalStack, StackInfo, handler_environment


class InvokeError(RuntimeError):
    """The call could not be made (unknown function, no stack name, ...); the message says what to do."""


def live_stack(state_file: Path = DEFAULT_STATE_FILE) -> StackInfo | None:
    """The stack `.local/stack.json` describes, when its process and its moto endpoint still answer."""
    if not state_file.exists():
        return None
    try:
        info = StackInfo.read(state_file)
        os.kill(info.pid, 0)
        requests.get(f"{info.endpoint_url}/moto-api/", timeout=2).raise_for_status()
    except (OSError, ValueError, TypeError, requests.RequestException):
        return None
    return info


def _require_function(function_id: str, functions: Collection[str]) -> None:
    if function_id not in functions:
        raise InvokeError(f"no function {function_id!r} in the stack; it has: {', '.join(sorted(functions))}")


def invoke_on_live_stack(info: StackInfo, function_id: str, event: dict[str, Any]) -> Any:
    """Run the function in an execution environment of its own, configured like the live stack's function."""
    _require_function(function_id, info.functions)
    config = info.functions[function_id]
    function = LocalFunction(
        logical_id=function_id,
        name=config["name"],
        arn=f"arn:aws:lambda:{info.region}:{ACCOUNT_ID}:function:{config['name']}",
        handler=config["handler"],
        environment=config["environment"],
        runtime_environment=handler_environment(info.endpoint_url, info.region, os.environ.get("LOG_LEVEL", "INFO")),
        log_group=config.get("log_group", ""),
        logs=LocalAws(info.endpoint_url, info.region).client("logs"),  # its output to its log group, as in the stack
    )
    try:
        return function.invoke(event)
    finally:
        function.stop()


def retarget_ecs_events(event: dict[str, Any], cluster: str, region: str) -> dict[str, Any]:
    """Point the sample ECS events (made for a deployed cluster) at the local cluster, so the reconciler acts.

    Without it the reconciler rightly answers "ignored" for another cluster's task. Works on a raw
    EventBridge event and on one wrapped in an SQS batch; anything else is returned unchanged.
    """
    local_arn = f"arn:aws:ecs:{region}:{ACCOUNT_ID}:cluster/{cluster}"

    def retarget(one: dict[str, Any]) -> dict[str, Any]:
        detail = one.get("detail") if one.get("source") == "aws.ecs" else None
        if isinstance(detail, dict) and detail.get("clusterArn") not in (None, local_arn):
            print(f"(retargeting the ECS event from {detail['clusterArn']} to {local_arn})", file=sys.stderr)
            one = {**one, "detail": {**detail, "clusterArn": local_arn}}
        return one

    records = event.get("Records")
    if isinstance(records, list):
        rewritten = []
        for record in records:
            try:
                body = json.loads(record.get("body", ""))
            except (TypeError, ValueError):
                rewritten.append(record)
                continue
            rewritten.append({**record, "body": json.dumps(retarget(body))} if isinstance(body, dict) else record)
        return {**event, "Records": rewritten}
    return retarget(event)


def invoke_locally(function_id: str, event: dict[str, Any], out: TextIO) -> Any:
    info = live_stack()
    if info is not None:
        print(f"(using the live local stack of {DEFAULT_STATE_FILE})", file=sys.stderr)
        return invoke_on_live_stack(info, function_id, retarget_ecs_events(event, info.cluster, info.region))
    print("(no live local stack: starting one for this call)", file=sys.stderr)
    with LocalStack(with_workers=False) as stack:
        _require_function(function_id, stack.functions)
        assert stack.info is not None
        return stack.invoke(function_id, retarget_ecs_events(event, stack.info.cluster, stack.info.region))


def invoke_on_aws(function_id: str, event: dict[str, Any], stack_name: str | None) -> Any:
    """The deployed function named by the stack's logical id, invoked synchronously with boto3."""
    stack_name = stack_name or os.environ.get("STACK_NAME")
    if not stack_name:
        raise InvokeError("--aws needs the deployed stack's name: --stack-name NAME or STACK_NAME=NAME")
    import boto3

    session = boto3.session.Session(profile_name=os.environ.get("AWS_PROFILE") or None)
    resource = session.client("cloudformation").describe_stack_resource(
        StackName=stack_name, LogicalResourceId=function_id
    )["StackResourceDetail"]
    response = session.client("lambda").invoke(
        FunctionName=resource["PhysicalResourceId"], Payload=json.dumps(event).encode()
    )
    payload = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        raise InvokeError(f"{function_id} failed: {json.dumps(payload)}")
    return payload


def invoke_main(
    function_id: str, event_path: str, *, use_aws: bool = False, stack_name: str | None = None, out: TextIO = sys.stdout
) -> int:
    try:
        event = json.loads(Path(event_path).read_text())
        response = invoke_on_aws(function_id, event, stack_name) if use_aws else invoke_locally(function_id, event, out)
    except (InvokeError, FunctionError, OSError, ValueError) as exc:
        print(f"invoke: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(response, indent=2, default=str), file=out)
    return 0
