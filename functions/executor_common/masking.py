"""A registry of secret values and the forms they take in output, masked everywhere we write.

Fail-closed: every registered value is masked in every reversible form we know output can
carry it in:

- raw, and the stripped value of a padded secret (`"  pw \\n"` is printed as `pw`);
- each line of a multi-line value;
- JSON string escaping (ASCII and non-ASCII kept), with `\\/` for `/` (Java's and PHP's JSON),
  and JSON escaped twice (a JSON document carried inside a JSON string, as in a structured report);
- Python `repr` escaping, `unicode_escape`, and the `bytes` repr of the UTF-8 value (`b'caf\\xc3\\xa9'`);
- URL encoding: `quote` with `safe=''` and with its default `safe='/'`, `quote_plus`, each also with
  lowercase `%xx`;
- HTML escaping (with and without quote escaping);
- base64 (standard and URL-safe, with and without padding) and hex (lower and upper case) of the
  UTF-8 value.

Deliberately not covered, because no fixed string can match them without masking unrelated text:
base64 of the secret inside a longer encoded string (HTTP Basic `user:password`, where the encoding
depends on what precedes the secret), hashes and encryptions, case changes of the value itself,
substrings of it (a child printing half a password), a value wrapped over lines by the child, and
values split by the child's own formatting (column alignment). Values shorter than
`MIN_SUBSTRING_LENGTH` are masked only as whole tokens, to avoid shredding logs.

Masking is idempotent: masking masked text changes nothing. `max_form_bytes` tells a streaming
caller (the log relay) how much overlap to keep when it must cut a line without a newline.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "********"
#: Values shorter than this are still masked as whole tokens only, to avoid shredding logs.
MIN_SUBSTRING_LENGTH = 4
_PERCENT_HEX = re.compile(r"%[0-9A-F]{2}")


def _lower_percent(text: str) -> str:
    return _PERCENT_HEX.sub(lambda m: m.group().lower(), text)


def _forms_of_one(value: str) -> set[str]:
    data = value.encode("utf-8", "surrogatepass")
    json_escaped = json.dumps(value)[1:-1]
    json_kept = json.dumps(value, ensure_ascii=False)[1:-1]
    forms = {
        value,
        json_escaped,
        json_kept,
        json_escaped.replace("/", "\\/"),
        json_kept.replace("/", "\\/"),
        json.dumps(json_escaped)[1:-1],
        json.dumps(json_kept, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
        repr(data)[2:-1],
        value.encode("unicode_escape").decode("ascii"),
        html.escape(value),
        html.escape(value, quote=False),
    }
    for encoded in (quote(value, safe=""), quote(value), quote_plus(value, safe=""), quote_plus(value)):
        forms.update((encoded, _lower_percent(encoded)))
    for b64 in (base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode()):
        forms.update((b64, b64.rstrip("=")))
    forms.update((data.hex(), data.hex().upper()))
    return forms


def registered_forms(value: str) -> set[str]:
    """Every form of a secret the masker hides (the list in the module docstring): what a leak scan looks for."""
    forms = _forms_of_one(value)
    stripped = value.strip()
    if stripped != value:
        forms |= _forms_of_one(stripped)
    if "\n" in value:
        forms.update(line for line in value.splitlines() if line.strip())
        forms.update(line.strip() for line in value.splitlines() if line.strip())
    return {f for f in forms if f and f.strip()}


def trie_pattern(words: list[str]) -> str:
    """One regex for many literals, as a trie: the engine scans for the first characters only and never
    retries every alternative at every position (a plain alternation of ~150 forms is ~80x slower).
    A longer form wins over its own prefix (the optional tail is greedy), as longest-first ordering did."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _node_pattern(trie)


def _node_pattern(node: dict[str, dict]) -> str:
    branches = []
    for char in sorted(k for k in node if k):
        text, child = re.escape(char), node[char]
        while len(child) == 1 and "" not in child:  # a chain of single characters: no group needed
            ((next_char, child),) = child.items()
            text += re.escape(next_char)
        branches.append(text + _node_pattern(child))
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if "" in node:  # a form ends here; a longer one may continue
        return "(?:" + body + ")?" if len(branches) == 1 else body + "?"
    return body


class SecretMasker:
    """Thread-safe set of values to hide; `mask()` replaces each with `MASK`."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._bytes_pattern: re.Pattern[bytes] | None = None
        self.max_form_bytes = 0
        self.add(*values)

    def add(self, *values: str | None) -> None:
        with self._lock:
            for value in values:
                if value and value.strip() and value != MASK:
                    self._values.update(registered_forms(value))
            self._pattern = self._compile()
            self._bytes_pattern = self._compile_bytes()
            self.max_form_bytes = max((len(v.encode("utf-8", "surrogatepass")) for v in self._values), default=0)

    def _ordered(self) -> tuple[list[str], list[str]]:
        long_forms = sorted((v for v in self._values if len(v) >= MIN_SUBSTRING_LENGTH), key=len, reverse=True)
        short_forms = sorted((v for v in self._values if len(v) < MIN_SUBSTRING_LENGTH), key=len, reverse=True)
        return long_forms, short_forms

    def _compile(self) -> re.Pattern[str] | None:
        if not self._values:
            return None
        long_forms, short_forms = self._ordered()
        parts = [trie_pattern(long_forms)] if long_forms else []
        parts += [rf"(?<![\w]){re.escape(v)}(?![\w])" for v in short_forms]
        return re.compile("|".join(parts))

    def _compile_bytes(self) -> re.Pattern[bytes] | None:
        if not self._values:
            return None
        long_forms, short_forms = self._ordered()
        return re.compile(b"|".join(re.escape(v.encode("utf-8", "surrogatepass")) for v in long_forms + short_forms))

    def __bool__(self) -> bool:
        return bool(self._values)

    def mask(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def safe_cut(self, data: bytes) -> int:
        """Where a stream buffer without a newline can be cut so that no registered form straddles the cut.

        Keeps the last `max_form_bytes - 1` bytes back (a form starting there may continue in the next
        read); moves the cut past a form that would straddle it, and off a UTF-8 continuation byte.
        Returns 0 when nothing can be released yet.
        """
        cut = len(data) - max(self.max_form_bytes - 1, 0)
        if cut <= 0:
            return 0
        pattern = self._bytes_pattern
        if pattern is not None:
            for match in pattern.finditer(data, max(0, cut - self.max_form_bytes)):
                if match.start() < cut < match.end():
                    cut = match.end()
                    break
                if match.start() >= cut:
                    break
        while 0 < cut < len(data) and data[cut] & 0xC0 == 0x80:
            cut -= 1
        return cut
