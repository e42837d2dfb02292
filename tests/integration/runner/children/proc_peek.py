"""Fake child: tries to read its parent's (the runner's) /proc/<pid>/environ and says what happened,
without printing the content: `environ of runner: READ (token inside: True)` or `environ of runner: DENIED`."""

import os
import sys

token = sys.argv[1]
try:
    with open(f"/proc/{os.getppid()}/environ", "rb") as fp:
        content = fp.read()
    print(f"environ of runner: READ (token inside: {token.encode() in content})", flush=True)
except OSError as exc:
    print(f"environ of runner: DENIED ({exc.errno})", flush=True)
