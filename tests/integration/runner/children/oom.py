"""Fake child: works a little, then dies the way the kernel's OOM killer ends a process (SIGKILL)."""

import os
import signal

print("loading a very large table...", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
