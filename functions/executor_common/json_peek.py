"""Read a few top-level fields of a JSON object without parsing the rest.

Used to decide whose message it is (executor id, URN) before a full parse, and to recover
the URN of a message that a full parse refuses. Safe on hostile input: iterative (no
recursion, so 5,000-deep nesting is fine), never converts numbers (no 4,300-digit
limit), and linear: every character is looked at a bounded number of times (the string
pattern is possessive and only ever anchored at a quote the scan reached).
"""

from __future__ import annotations

import json
import re

_WS = re.compile(r"[ \t\n\r]*")
#: A complete JSON string starting at the current position; possessive, so a failure cannot backtrack.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*+"', re.DOTALL)
_STRUCTURE = re.compile(r'["{}\[\]]')
_SCALAR = re.compile(r"[^,}\]\s]*")


def _skip_ws(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    return match.end() if match else pos


def _skip_value(text: str, pos: int) -> int | None:
    """End of the JSON value starting at `pos`, or None when it is not well delimited."""
    if pos >= len(text):
        return None
    first = text[pos]
    if first == '"':
        match = _STRING.match(text, pos)
        return match.end() if match else None
    if first not in "{[":
        match = _SCALAR.match(text, pos)
        return match.end() if match and match.end() > pos else None
    depth = 0
    while True:
        found = _STRUCTURE.search(text, pos)
        if found is None:
            return None
        char = found.group()
        if char == '"':
            string = _STRING.match(text, found.start())
            if string is None:
                return None
            pos = string.end()
            continue
        pos = found.end()
        depth += 1 if char in "{[" else -1
        if depth == 0:
            return pos


def top_level_members(text: str | bytes | None) -> dict[str, str] | None:
    """`{key: raw JSON text of its value}` for a JSON object, or None when `text` is not a well-formed object.

    Only the object's own structure is checked (values are delimited, not validated); a
    repeated key keeps its last value, as the full parsers do.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        return None
    pos = _skip_ws(text, 0)
    if not text.startswith("{", pos):
        return None
    members: dict[str, str] = {}
    pos = _skip_ws(text, pos + 1)
    if text.startswith("}", pos):
        return members if _skip_ws(text, pos + 1) == len(text) else None
    while True:
        key_match = _STRING.match(text, pos)
        if key_match is None:
            return None
        try:
            key = json.loads(key_match.group())
        except ValueError:  # an invalid escape such as \x
            return None
        pos = _skip_ws(text, key_match.end())
        if not text.startswith(":", pos):
            return None
        start = _skip_ws(text, pos + 1)
        end = _skip_value(text, start)
        if end is None:
            return None
        members[key] = text[start:end]
        pos = _skip_ws(text, end)
        if text.startswith(",", pos):
            pos = _skip_ws(text, pos + 1)
            continue
        if text.startswith("}", pos):
            return members if _skip_ws(text, pos + 1) == len(text) else None
        return None


def string_member(members: dict[str, str] | None, key: str) -> str | None:
    """The member's value when it is a JSON string, else None."""
    raw = (members or {}).get(key)
    if raw is None or not raw.startswith('"'):
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, str) else None
