"""`make local-up`: the local stack in the foreground until Ctrl-C, described in `.local/stack.json`."""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any, TextIO

from local_stack.stack import DEFAULT_STATE_FILE, REPO_ROOT, LocalStack

STATE_DIR = REPO_ROOT / ".local" / "state"


def up_main(
    log_level: str = "INFO",
    out: TextIO = sys.stdout,
    datahub_secrets: dict[str, str] | None = None,
    stack_options: dict[str, Any] | None = None,
) -> int:
    started = time.monotonic()
    print("Starting the local stack...", file=out, flush=True)
    stack = LocalStack(
        STATE_DIR,
        state_file=DEFAULT_STATE_FILE,
        log_level=log_level,
        datahub_secrets=datahub_secrets,
        on_progress=lambda step: print(f"  {step}", file=out, flush=True),
        **(stack_options or {}),
    ).start()
    info = stack.info
    assert info is not None
    print(
        f"""Local stack up in {time.monotonic() - started:.1f}s (Ctrl-C to stop); described in {DEFAULT_STATE_FILE}
  moto (AWS):        {info.endpoint_url}   (export AWS_ENDPOINT_URL={info.endpoint_url})
  DataHub stand-in:  {info.gms_url}   token {info.gms_token}   page {info.gms_page}
  command queue:     {info.queue_url}
  ECS cluster:       {info.cluster}
  runner log group:  {info.log_group}   task output also in {stack.state_dir / "tasks"}
Send a command:  aws --endpoint-url {info.endpoint_url} sqs send-message --queue-url {info.queue_url} \\
                   --message-body file://command.json
Invoke a handler: make invoke FUNCTION=DispatcherFunction EVENT=events/run_ingest.json""",
        file=out,
        flush=True,
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        while not stopping.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        print("\nStopping the local stack...", file=out, flush=True)
        stack.stop()
    return 0
