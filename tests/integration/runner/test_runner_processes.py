"""The runner's process hygiene, from real processes: its child cannot read the runner's environment,
and no descendant (not even one that left the process group with setsid and a double fork) outlives a run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest
from runner_harness import CHILDREN, FAKE_CHILD_RUNNER, TOKEN, RunnerEnv, child, make_spec

from tests.support.waiting import wait_until

NOBODY = 65534


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _unprivileged() -> tuple[list[str], str, str]:
    """(prefix, python, extra PYTHONPATH) to run the runner as an unprivileged user, as in the image (USER 1000).

    As root: `setpriv` to nobody, with the system's python3.11 (this venv's interpreter may live under
    /root) and this venv's packages on PYTHONPATH. As any other user: as is.
    """
    if os.geteuid() != 0:
        return [], sys.executable, ""
    python = shutil.which("python3.11", path="/usr/local/bin:/usr/bin:/bin")
    if python is None or not shutil.which("setpriv"):
        pytest.skip("needs setpriv and a system python3.11 to drop root")
    prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    return prefix, python, sysconfig.get_paths()["purelib"]


def test_runner_child_cannot_read_the_runners_environ(gms_standin):
    # GIVEN the runner and its child as one unprivileged user
    prefix, python, site_packages = _unprivileged()
    work = Path(tempfile.mkdtemp(prefix="peek-"))
    work.chmod(0o777)
    runner = RunnerEnv(gms_url=gms_standin.url, work_dir=work)
    spec = make_spec("peek-1")
    env = runner.env(spec)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env["PYTHONPATH"], site_packages) if p)
    peek = [python, str(CHILDREN / "proc_peek.py"), TOKEN]

    # WHEN the child tries to read /proc/<runner>/environ (the GMS token and every secret are in it)
    process = subprocess.run(
        [*prefix, python, str(FAKE_CHILD_RUNNER), json.dumps(peek)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=work,
    )

    # THEN it is refused
    assert process.returncode == 0, process.stderr[-2000:]
    assert "environ of runner: DENIED" in process.stdout, process.stdout[-2000:]


@pytest.mark.parametrize(
    ("mode", "timeout_seconds", "status"), [("hang", 2, "FAILURE"), ("exit", None, "SUCCESS")], ids=["timeout", "done"]
)
def test_runner_kills_a_setsid_double_forked_daemon(runner, gms_standin, tmp_path, mode, timeout_seconds, status):
    # GIVEN a child whose daemon left its process group (setsid) and its parent (double fork)
    pid_file = tmp_path / "daemon.pid"
    fields = {"run_timeout_seconds": timeout_seconds} if timeout_seconds else {}
    spec = make_spec(f"escapee-{mode}", **fields)

    # WHEN the run ends (timeout, or the child exits)
    result = runner.run(
        spec, {"RUNNER_KILL_GRACE_SECONDS": "1"}, timeout=60, child=child("escapee.py", str(pid_file), mode)
    )

    # THEN the daemon is gone too, and the run ended as it should, without waiting on the daemon's pipe
    daemon = int(pid_file.read_text())
    try:
        wait_until(lambda: not _alive(daemon), 5, "the daemon to be gone")
    finally:
        if _alive(daemon):
            os.kill(daemon, 9)
    assert gms_standin.result(spec.execution_request_urn)["status"] == status
    assert "daemon still here" in result.stdout
