"""`python -m local_stack up | demo | screenshot PNG | invoke FUNCTION EVENT [--aws]` (`make local-up/demo/...`)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

#: `up` and `demo` options for Fargate's room and Spot, each with the environment variable that sets its default.
FLEET_OPTIONS = (
    ("--vcpu-quota", "LOCAL_FARGATE_VCPU_QUOTA", "the account's Fargate On-Demand vCPU quota (0 = none)"),
    ("--spot-vcpu-quota", "LOCAL_FARGATE_SPOT_VCPU_QUOTA", "the account's Fargate Spot vCPU quota (0 = none)"),
    ("--capacity-failure-rate", "LOCAL_RUNTASK_CAPACITY_FAILURE_RATE", "share of RunTask calls with no capacity"),
    ("--spot-no-capacity-rate", "LOCAL_SPOT_NO_CAPACITY_RATE", "share of Spot RunTask calls with no Spot capacity"),
    ("--spot-interruption-rate", "LOCAL_SPOT_INTERRUPTION_RATE", "share of Spot tasks the agent interrupts"),
)


def _add_fleet_options(command: argparse.ArgumentParser) -> None:
    for flag, variable, meaning in FLEET_OPTIONS:
        default = float(os.environ.get(variable) or 0)
        command.add_argument(flag, type=float, default=default, help=f"{meaning} (default ${variable} or 0)")


def fleet_options(args: argparse.Namespace) -> dict[str, object]:
    """LocalStack's keyword arguments for the options above."""
    from local_stack.aws_fidelity import FargateConditions

    conditions = FargateConditions(
        on_demand_vcpu_quota=args.vcpu_quota,
        spot_vcpu_quota=args.spot_vcpu_quota,
        capacity_failure_rate=args.capacity_failure_rate,
        spot_no_capacity_rate=args.spot_no_capacity_rate,
    )
    return {"fargate": conditions, "spot_interruption_rate": args.spot_interruption_rate}


def _up(args: argparse.Namespace) -> int:
    from local_stack.up import up_main

    secrets = dict(item.split("=", 1) for item in args.datahub_secret)
    return up_main(log_level=args.log_level, datahub_secrets=secrets, stack_options=fleet_options(args))


def _demo(args: argparse.Namespace) -> int:
    from local_stack.demo import main, quiet_stack

    options = fleet_options(args)
    return main(stack_factory=lambda out: quiet_stack(out, **options))


def _screenshot(args: argparse.Namespace) -> int:
    from local_stack.screenshot import main

    return main(args.path, width=args.width, height=args.height)


def _invoke(args: argparse.Namespace) -> int:
    from local_stack.invoke import invoke_main

    return invoke_main(args.function, args.event, use_aws=args.aws, stack_name=args.stack_name)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m local_stack", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="run the local stack in the foreground until Ctrl-C")
    up.add_argument("--log-level", default="INFO", help="handlers' POWERTOOLS_LOG_LEVEL (default INFO)")
    up.add_argument(
        "--datahub-secret",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a secret in DataHub's own store (Settings -> Secrets), served by the stand-in's getSecretValues",
    )
    _add_fleet_options(up)
    up.set_defaults(run=_up)
    demo = commands.add_parser("demo", help="a success, a cancel and an unknown secret through the local stack")
    _add_fleet_options(demo)
    demo.set_defaults(run=_demo)
    screenshot = commands.add_parser(
        "screenshot", help="the stand-in's run page after a successful run, as a PNG (README's picture)"
    )
    screenshot.add_argument("path", type=Path, help="where to write the PNG, e.g. docs/img/run-page.png")
    screenshot.add_argument("--width", type=int, default=1280)
    screenshot.add_argument("--height", type=int, default=640)
    screenshot.set_defaults(run=_screenshot)
    invoke = commands.add_parser("invoke", help="invoke one function's handler with an event file")
    invoke.add_argument("function", help="logical id in template.yaml, e.g. DispatcherFunction")
    invoke.add_argument("event", help="event JSON file, e.g. events/run_ingest.json")
    invoke.add_argument(
        "--aws", action="store_true", help="invoke the deployed Lambda (AWS credentials + --stack-name/STACK_NAME)"
    )
    invoke.add_argument("--stack-name", default=None, help="deployed stack name (default: $STACK_NAME)")
    invoke.set_defaults(run=_invoke)
    return root


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    args = parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
