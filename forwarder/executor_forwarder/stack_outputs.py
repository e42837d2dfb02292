"""Find the command queue from the deployed stack, so the action config can name the stack instead of the URL."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from executor_forwarder.config import COMMAND_QUEUE_OUTPUT_KEY


class StackLookupError(ValueError):
    """The stack or its command-queue output cannot be found: a configuration error, raised at start."""


def resolve_queue_url(cloudformation: Any, stack_name: str, output_key: str = COMMAND_QUEUE_OUTPUT_KEY) -> str:
    """The value of `output_key` among the outputs of `stack_name` (needs cloudformation:DescribeStacks)."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except (ClientError, BotoCoreError) as exc:
        raise StackLookupError(f"cannot describe stack {stack_name!r}: {exc}") from exc
    for stack in stacks:
        for output in stack.get("Outputs", []):
            if output.get("OutputKey") == output_key and output.get("OutputValue"):
                return str(output["OutputValue"])
    raise StackLookupError(f"stack {stack_name!r} has no {output_key!r} output")
