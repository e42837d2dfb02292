"""Fake child: starts two grandchildren (one ignores SIGTERM), records all pids in argv[1], then hangs."""

import os
import signal
import subprocess
import sys
import time

pid_file = sys.argv[1]
stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True: time.sleep(1)"
polite = "import time\nwhile True: time.sleep(1)"
kids = [subprocess.Popen([sys.executable, "-c", code]) for code in (stubborn, polite)]
with open(pid_file, "w") as fp:
    fp.write("\n".join(str(p) for p in [os.getpid(), *(k.pid for k in kids)]))
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("family ready", flush=True)
while True:
    time.sleep(1)
