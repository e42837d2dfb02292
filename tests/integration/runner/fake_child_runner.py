"""Test entry point: the real runner with `datahub ingest` replaced by a fake child.

`python fake_child_runner.py '<json argv>'` runs `executor_runner.__main__.main(child_command=argv)`.
The production entry point (`python -m executor_runner`) has no such switch, and no setting or
environment variable can give it one; this file is not in the runner image.
"""

from __future__ import annotations

import json
import sys

from executor_runner.__main__ import main

if __name__ == "__main__":
    sys.exit(main(child_command=json.loads(sys.argv[1])))
