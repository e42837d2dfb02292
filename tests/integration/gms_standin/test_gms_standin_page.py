"""The stand-in's page lists the runs, newest first, escaped, and renders in a real headless Chromium."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
import requests

from local_stack.gms_standin import GmsStandIn

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDTH, HEIGHT = 1280, 800
OLD, FAILED, RUNNING = (f"urn:li:dataHubExecutionRequest:page-{n}" for n in ("old", "failed", "running"))


@pytest.fixture
def standin_with_runs(gms_standin: GmsStandIn) -> GmsStandIn:
    gms_standin.seed_result(OLD, {"status": "SUCCESS", "startTimeMs": 1_764_140_000_000, "durationMs": 61_000})
    report = "\n".join(f"report line {i}" for i in range(30)) + "\n<script>alert('x')</script>"
    gms_standin.seed_result(FAILED, {"status": "FAILURE", "report": report, "startTimeMs": 1_764_140_100_000})
    gms_standin.seed_result(RUNNING, {"status": "RUNNING", "report": "Started", "startTimeMs": 1_764_140_200_000})
    return gms_standin


def test_page_lists_runs_newest_first_with_escaped_report_tails(standin_with_runs: GmsStandIn) -> None:
    response = requests.get(standin_with_runs.page_url, timeout=5)

    html = response.text
    assert response.headers["Content-Type"].startswith("text/html")
    assert '<meta http-equiv="refresh" content="2">' in html
    assert html.index(RUNNING) < html.index(FAILED) < html.index(OLD)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "report line 29" in html and "report line 11" in html
    assert "report line 10\n" not in html  # only the last 20 lines are shown
    assert ">SUCCESS<" in html and ">FAILURE<" in html and ">RUNNING<" in html
    assert "2025-11-26 06:53:20 UTC" in html and "61.0 s" in html


def test_page_without_runs_says_so(gms_standin: GmsStandIn) -> None:
    assert "No execution requests yet." in requests.get(gms_standin.page_url, timeout=5).text


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed (apt-get install -y chromium)")
def test_page_renders_in_headless_chromium(standin_with_runs: GmsStandIn, tmp_path: Path) -> None:
    screenshot = tmp_path / "page.png"

    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={screenshot}",
            f"--window-size={WIDTH},{HEIGHT}",
            standin_with_runs.page_url,
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )

    assert screenshot.exists(), "chromium wrote no screenshot"
    width, height, colours = png_summary(screenshot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    assert colours > 20, "the screenshot looks blank"
    assert any(r["path"] == "/" for r in standin_with_runs.requests), "chromium never asked the stand-in"


def png_summary(data: bytes, max_rows: int = 400) -> tuple[int, int, int]:
    """(width, height, distinct colours in the first `max_rows` rows) of an 8-bit RGB/RGBA PNG, without Pillow."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, idat, header = 8, b"", b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        offset += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour_type in (2, 6), f"unexpected PNG format depth={depth} colour_type={colour_type}"
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    assert len(raw) == height * (stride + 1), "truncated image data"
    previous = bytearray(stride)
    colours: set[bytes] = set()
    for y in range(min(height, max_rows)):
        filter_type, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        _unfilter(filter_type, line, previous, bpp)
        colours.update(bytes(line[x : x + bpp]) for x in range(0, stride, bpp * 4))
        previous = line
    return width, height, len(colours)


def _unfilter(filter_type: int, line: bytearray, previous: bytearray, bpp: int) -> None:
    if filter_type == 0:
        return
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = previous[i]
        if filter_type == 1:
            line[i] = (line[i] + left) & 0xFF
        elif filter_type == 2:
            line[i] = (line[i] + up) & 0xFF
        elif filter_type == 3:
            line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
        elif filter_type == 4:
            upper_left = previous[i - bpp] if i >= bpp else 0
            p = left + up - upper_left
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - upper_left)
            predictor = left if pa <= pb and pa <= pc else up if pb <= pc else upper_left
            line[i] = (line[i] + predictor) & 0xFF
        else:
            raise AssertionError(f"bad PNG filter type {filter_type}")
