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
