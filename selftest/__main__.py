"""`python -m selftest --stack-name NAME` (a deployed stack) or `--local` (the local stack, as the tests run it)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from selftest.hops import judge, render
from selftest.probe import probe


def _outputs(cloudformation: Any, stack_name: str) -> tuple[dict[str, str], dict[str, str]]:
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    return outputs, parameters


def run_deployed(stack_name: str, region: str | None, timeout: float, out: TextIO) -> int:
    """Against a stack in AWS: your credentials send the message and read ECS; GMS is read with the stack's token."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError
    from executor_common.aws.classify import error_summary
    from executor_common.gms_factory import make_gms_client

    session = boto3.Session(region_name=region)
    try:
        outputs, parameters = _outputs(session.client("cloudformation"), stack_name)
    except (BotoCoreError, ClientError) as exc:  # no such stack, no credentials, wrong region: say which
        where = f" in {session.region_name}" if session.region_name else ""
        print(f"Cannot read the stack {stack_name!r}{where}: {error_summary(exc)}", file=out, flush=True)
        return 2
    token_secret = (
        parameters.get("ExistingDataHubAccessTokenSecretArn")
        or session.client("cloudformation").describe_stack_resource(
            StackName=stack_name, LogicalResourceId="DataHubTokenSecret"
        )["StackResourceDetail"]["PhysicalResourceId"]
    )
    gms = make_gms_client(parameters["DataHubBaseUrl"], token_secret)
    seen = probe(
        sqs=session.client("sqs"),
        ecs=session.client("ecs"),
        queue_url=outputs["CommandQueueUrl"],
        cluster=outputs["RunnerClusterName"],
        read_result=gms.read_result,
        logs=session.client("logs"),
        executor_id=parameters.get("ExecutorId") or "remote",
        timeout=timeout,
        on_step=lambda step: print(f"  ... {step}", file=out, flush=True),
    )
    hops = judge(seen)
    print(render(hops), file=out, flush=True)
    return 0 if all(h.ok for h in hops) else 1


def run_local(
    out: TextIO,
    *,
    recipe: dict[str, Any] | None = None,
    timeout: float = 300.0,
    parameters: dict[str, str] | None = None,
    gms_reachable_from_tasks: bool = True,
    runner_env: dict[str, str] | None = None,
    read_runner_log: bool = True,
) -> int:
    """Against the local stack (moto + template.yaml, the GMS stand-in, the local ECS agent).

    `gms_reachable_from_tasks=False`: the tasks' subnets have no path to GMS while the Lambdas do.
    `read_runner_log=False`: judge as an operator who may not read the runner's CloudWatch log.
    """
    from executor_common.gms import GmsClient

    from local_stack.stack import LocalStack

    with LocalStack(
        log_level="ERROR",
        extra_parameters=parameters,
        gms_reachable_from_tasks=gms_reachable_from_tasks,
        runner_env=runner_env,
    ) as stack:
        assert stack.aws is not None and stack.info is not None
        gms = GmsClient(stack.info.gms_url, stack.info.gms_token)
        seen = probe(
            sqs=stack.aws.client("sqs"),
            ecs=stack.aws.client("ecs"),
            queue_url=stack.info.queue_url,
            cluster=stack.info.cluster,
            read_result=gms.read_result,
            logs=stack.aws.client("logs") if read_runner_log else None,
            recipe=recipe,
            timeout=timeout,
            on_step=lambda step: print(f"  ... {step}", file=out, flush=True),
        )
    hops = judge(seen)
    print(render(hops), file=out, flush=True)
    return 0 if all(h.ok for h in hops) else 1


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="selftest", description=__doc__)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack-name", help="the deployed stack to test")
    where.add_argument("--local", action="store_true", help="start the local stack and test it")
    parser.add_argument("--region")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for the result")
    args = parser.parse_args(argv)
    if args.local:
        return run_local(out, timeout=min(args.timeout, 300.0))
    return run_deployed(args.stack_name, args.region, args.timeout, out)


if __name__ == "__main__":
    sys.exit(main())
