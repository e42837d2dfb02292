"""Importing the handler is cheap and side-effect free outside Lambda: no boto3 client, no settings read."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_handler_import_creates_no_boto3_client_and_reads_no_settings():
    code = (
        "import sys, dispatcher.handler as h\n"
        "assert 'boto3' not in sys.modules, 'boto3 imported at import time'\n"
        "assert h.get_settings.cache_info().currsize == 0\n"
        "assert h.dependencies.cache_info().currsize == 0\n"
    )
    env = {"PYTHONPATH": str(REPO_ROOT / "functions"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
