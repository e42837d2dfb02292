"""SecretMasker hides a secret in every form it takes in output, and masking twice changes nothing."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import pytest
from executor_common.masking import MASK, SecretMasker

CANARY = 'canary-S3cr3t"p@ss/w\\rd+ü 1'
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----"


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(CANARY, id="raw"),
        pytest.param(json.dumps(CANARY)[1:-1], id="json-escaped"),
        pytest.param(json.dumps(CANARY, ensure_ascii=False)[1:-1], id="json-escaped-unicode"),
        pytest.param(quote(CANARY, safe=""), id="url-encoded"),
        pytest.param(quote_plus(CANARY, safe=""), id="form-encoded"),
        pytest.param(repr(CANARY)[1:-1], id="python-repr"),
    ],
)
def test_masker_hides_each_form_of_a_secret(form: str) -> None:
    masker = SecretMasker([CANARY])

    masked = masker.mask(f"connecting with password={form} to host")

    assert form not in masked
    assert "S3cr3t" not in masked
    assert masked == f"connecting with password={MASK} to host"


def test_masker_hides_a_secret_inside_json_output() -> None:
    masker = SecretMasker([CANARY])

    masked = masker.mask(json.dumps({"config": {"password": CANARY}}))

    assert "S3cr3t" not in masked
    assert json.loads(masked) == {"config": {"password": MASK}}


def test_masker_hides_a_multi_line_secret_whole_and_line_by_line() -> None:
    masker = SecretMasker([PEM])
    body_line = PEM.splitlines()[1]

    whole = masker.mask(f"key:\n{PEM}\nend")
    escaped = masker.mask(json.dumps({"key": PEM}))
    one_line = masker.mask(f"[child] {body_line}")

    assert body_line not in whole and body_line not in escaped and body_line not in one_line
    assert whole == f"key:\n{MASK}\nend"


def test_masker_is_idempotent() -> None:
    masker = SecretMasker([CANARY, PEM, "hunter22"])
    text = f"a={CANARY} b={quote(CANARY, safe='')} c={PEM} d=hunter22"

    once = masker.mask(text)

    assert masker.mask(once) == once


def test_masker_masks_short_values_only_as_whole_tokens() -> None:
    masker = SecretMasker(["abc"])

    assert masker.mask("abc xabcx (abc)") == f"{MASK} xabcx ({MASK})"


def test_masker_without_values_returns_text_unchanged_and_is_falsy() -> None:
    masker = SecretMasker()

    assert not masker
    assert masker.mask("nothing to hide") == "nothing to hide"


def test_masker_ignores_empty_and_blank_values() -> None:
    masker = SecretMasker(["", "   ", None])  # type: ignore[list-item]

    assert not masker
    assert masker.mask("a b") == "a b"


def test_masker_added_values_are_masked_from_then_on() -> None:
    masker = SecretMasker(["first-secret"])

    masker.add("second-secret")

    assert masker.mask("first-secret second-secret") == f"{MASK} {MASK}"


# -- the reversible forms of the reliability issue (item 5), with canaries that stress each one -----------
CANARIES = {
    "metachars": "c4n(a)r*y.+?[x]|^$/p@ss&<b>'q'",
    "unicode": "pässwörd-ß-✓-9f1e",
    "slash": "tok/en/with/slashes-7a",
    "two-chars": "Zq",
    "padded": "  padded-canary-4c1d \n",
}


def _reversible_forms(value: str) -> dict[str, str]:
    import base64
    import html
    import re as _re

    data = value.encode()
    json_escaped = json.dumps(value)[1:-1]
    forms = {
        "quote-default-safe": quote(value),
        "quote-lowercase": _re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(value, safe="")),
        "quote-plus-lowercase": _re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote_plus(value)),
        "bytes-repr": repr(data)[2:-1],
        "html": html.escape(value),
        "html-no-quotes": html.escape(value, quote=False),
        "json-escaped-slash": json_escaped.replace("/", "\\/"),
        "json-twice": json.dumps(json_escaped)[1:-1],
        "base64": base64.b64encode(data).decode(),
        "base64-url-unpadded": base64.urlsafe_b64encode(data).decode().rstrip("="),
        "hex": data.hex(),
        "hex-upper": data.hex().upper(),
    }
    if value.strip() != value:
        forms["stripped"] = value.strip()
    return forms


@pytest.mark.parametrize(
    ("value", "name", "form"),
    [
        pytest.param(value, name, form, id=f"{label}-{name}")
        for label, value in CANARIES.items()
        for name, form in _reversible_forms(value).items()
    ],
)
def test_masker_hides_reversible_forms(value: str, name: str, form: str) -> None:
    masker = SecretMasker([value])

    masked = masker.mask(f"sent [{form}] to the server")

    assert form not in masked, name
    assert masked == f"sent [{MASK}] to the server"


def test_masker_hides_a_json_document_inside_a_json_string() -> None:
    # GIVEN a structured report that carries a JSON document as a string (escaped twice)
    inner = json.dumps({"password": CANARY})
    outer = json.dumps({"report": inner})

    masked = SecretMasker([CANARY]).mask(outer)

    assert "S3cr3t" not in masked


def test_masker_safe_cut_never_splits_a_registered_form() -> None:
    masker = SecretMasker(["straddling-canary-5e"])
    data = b"x" * 100 + b"straddling-canary-5e" + b"y" * 3

    cut = masker.safe_cut(data)

    assert cut <= len(data)
    assert b"straddling-canary-5e" in data[:cut] or b"straddling-canary-5e" in data[cut:]


def test_masker_pattern_masks_exactly_what_a_longest_first_alternation_would() -> None:
    # The masker compiles its ~30 forms per secret as a trie (fast); it must match what the plain
    # longest-first alternation matches, wherever forms share prefixes or contain each other.
    import random
    import re

    from executor_common.masking import trie_pattern

    rng = random.Random(7)
    alphabet = 'ab/%\\"c1é\n'
    for _ in range(2000):
        words = list(
            {"".join(rng.choice(alphabet) for _ in range(rng.randint(4, 9))) for _ in range(rng.randint(1, 12))}
        )
        text = "".join(rng.choice([*words, "x", "a", "b", "c"]) for _ in range(30))
        longest_first = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))

        assert re.compile(trie_pattern(words)).sub("*", text) == longest_first.sub("*", text), (words, text)
