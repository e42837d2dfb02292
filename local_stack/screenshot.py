"""`python -m local_stack screenshot docs/img/run-page.png` (`make screenshot`): the README's picture, reproducible.

Starts the local stack, runs the demo's successful ingestion (`demo.run_success`) and renders the
GMS stand-in's run page in headless Chromium, so the picture shows a real finished run with its
cost line and right-size hint. `chromium_screenshot` is also what the page's Chromium test runs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from local_stack.stack import LocalStack

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDTH, HEIGHT = 1280, 640


def chromium_screenshot(
    url: str, path: Path, *, width: int = WIDTH, height: int = HEIGHT, chromium: str = CHROMIUM, timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    """One PNG of `url` at `width` x `height`; a throwaway profile, no network besides `url`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--screenshot={path}",
                f"--window-size={width},{height}",
                url,
            ],
            capture_output=True,
            timeout=timeout,
            check=False,
        )


def capture(stack: LocalStack, path: Path, out: TextIO, *, width: int = WIDTH, height: int = HEIGHT) -> int:
    """On a started stack: the demo's successful run, then the page; exit 1 when either does not happen."""
    from local_stack.demo import create_private_source, run_success

    assert stack.gms is not None
    outcome = run_success(stack, create_private_source(stack, out), out)
    if not outcome.ok:
        print(f"the run ended {outcome.status}, not {outcome.expected}: no screenshot", file=out)
        return 1
    path.unlink(missing_ok=True)
    done = chromium_screenshot(stack.gms.page_url, path, width=width, height=height)
    if not path.exists():
        print(f"chromium wrote no screenshot: {done.stderr.decode(errors='replace')[-500:]}", file=out)
        return 1
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)", file=out)
    return 0


def main(path: Path, out: TextIO = sys.stdout, *, width: int = WIDTH, height: int = HEIGHT) -> int:
    from local_stack.demo import quiet_stack

    with quiet_stack(out) as stack:
        return capture(stack, path, out, width=width, height=height)
