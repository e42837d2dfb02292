"""Fake child: prints once, then hangs. With --ignore-term it also ignores SIGTERM (needs SIGKILL)."""

import signal
import sys
import time

if "--ignore-term" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("connected; waiting for the source to answer...", flush=True)
while True:
    time.sleep(1)
