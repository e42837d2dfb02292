"""A registry of secret values and the forms they take in output, masked everywhere we write.

Fail-closed: every registered value is masked in every form we know it can take
(raw, JSON-escaped, repr-escaped, URL-encoded, each line of a multi-line value).
Masking is idempotent: masking masked text changes nothing.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "********"
#: Values shorter than this are still masked as whole tokens only, to avoid shredding logs.
MIN_SUBSTRING_LENGTH = 4


def _forms(value: str) -> set[str]:
    forms = {value}
    forms.add(json.dumps(value)[1:-1])
    forms.add(json.dumps(value, ensure_ascii=False)[1:-1])  # pydantic and orjson keep non-ASCII as is
    forms.add(repr(value)[1:-1])
    forms.add(quote(value, safe=""))
    forms.add(quote_plus(value, safe=""))
    forms.add(value.encode("unicode_escape").decode("ascii"))
    if "\n" in value:
        forms.update(line for line in value.splitlines() if line.strip())
    return {f for f in forms if f}


class SecretMasker:
    """Thread-safe set of values to hide; `mask()` replaces each with `MASK`."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(*values)

    def add(self, *values: str | None) -> None:
        with self._lock:
            for value in values:
                if value and value.strip() and value != MASK:
                    self._values.update(_forms(value))
            self._pattern = self._compile()

    def _compile(self) -> re.Pattern[str] | None:
        if not self._values:
            return None
        long_forms = sorted((v for v in self._values if len(v) >= MIN_SUBSTRING_LENGTH), key=len, reverse=True)
        short_forms = sorted((v for v in self._values if len(v) < MIN_SUBSTRING_LENGTH), key=len, reverse=True)
        parts = [re.escape(v) for v in long_forms]
        parts += [rf"(?<![\w]){re.escape(v)}(?![\w])" for v in short_forms]
        return re.compile("|".join(parts))

    def __bool__(self) -> bool:
        return bool(self._values)

    def mask(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)
