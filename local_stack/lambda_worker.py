"""One function's execution environment, as Lambda gives each function its own: this process imports the
handler once (the init phase) with that function's environment only, then serves invocations one at a time.

    python -m local_stack.lambda_worker <module.handler> <function-name> <arn> <timeout-s> <memory-mb>

Requests and answers are JSON lines on the process's original stdout/stdin; everything the handler
prints (powertools logs) goes to stderr, as Lambda sends it to CloudWatch instead of the caller.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from typing import Any


def _protocol_out() -> Any:
    """The caller's channel (the original stdout); fd 1 then points at stderr for the handler's output."""
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def main(argv: list[str]) -> int:
    handler_path, name, arn, timeout, memory = argv
    out = _protocol_out()
    from local_stack.lambdas import LambdaContext  # after the redirect: nothing may write to the channel

    try:
        module_name, _, attribute = handler_path.rpartition(".")
        handler = getattr(importlib.import_module(module_name), attribute)
    except Exception as exc:  # an init error, as Lambda reports it (Runtime.ImportModuleError)
        out.write(json.dumps({"ready": False, "error": _error(exc)}) + "\n")
        out.flush()
        return 1
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        event = json.loads(line)
        context = LambdaContext(name, int(memory), arn, int(timeout))
        try:
            answer = {"response": handler(event, context)}
        except Exception as exc:
            answer = {"error": _error(exc)}
        out.write(json.dumps(answer, default=str) + "\n")
        out.flush()
    return 0


def _error(exc: BaseException) -> dict[str, Any]:
    """Lambda's error payload: errorType, errorMessage, stackTrace."""
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc),
    }


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
