"""Reading a PNG's size and how many colours it has, without Pillow: is a screenshot blank, is it the right size."""

from __future__ import annotations

import struct
import zlib


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
