"""After a real run the stand-in's page shows its cost and right-size hint; `make screenshot` draws it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import requests

from local_stack.screenshot import CHROMIUM, HEIGHT, WIDTH, capture
from tests.support.png import png_summary


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed (apt-get install -y chromium)")
def test_screenshot_of_a_finished_run_shows_its_cost_and_right_size_hint(stack: Any, tmp_path: Path) -> None:
    # GIVEN the local stack; WHEN the README's screenshot is taken (the demo's successful run, then Chromium)
    out = io.StringIO()
    picture = tmp_path / "run-page.png"

    code = capture(stack, picture, out)

    # THEN the run succeeded and the page's head block for it holds the cost line and the right-size hint
    assert code == 0, out.getvalue()
    html = requests.get(stack.gms.page_url, timeout=5).text
    head = html[html.index('<pre class="head">') : html.index("</pre>")]
    assert "Estimated cost: $" in head and "vCPU-seconds" in head
    assert "Memory: peak " in head and "`EXECUTOR_TASK_MEMORY=2048` would do" in head
    # AND Chromium drew that page
    width, height, colours = png_summary(picture.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT) and colours > 20
    assert any(r["path"] == "/" for r in stack.gms.requests)
