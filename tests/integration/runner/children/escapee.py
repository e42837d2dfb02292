"""Fake child: double-forks a daemon that leaves the process group (`setsid`) and keeps the output pipe
open, records the daemon's pid in argv[1], then either hangs (`hang`) or exits 0 (`exit`)."""

import os
import sys
import time

pid_file, mode = sys.argv[1], sys.argv[2]
if os.fork() == 0:  # the grandchild: a new session, then the daemon, then gone
    os.setsid()
    if os.fork() == 0:
        with open(pid_file + ".tmp", "w") as fp:
            fp.write(str(os.getpid()))
        os.rename(pid_file + ".tmp", pid_file)
        print("daemon still here", flush=True)  # then keeps the output pipe open without writing
        while True:
            time.sleep(0.5)
    os._exit(0)
while not os.path.exists(pid_file):
    time.sleep(0.05)
print("escapee ready", flush=True)
if mode == "exit":
    sys.exit(0)
while True:
    time.sleep(1)
