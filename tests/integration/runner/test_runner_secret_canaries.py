"""Issue 10's canary set through the real runner with a child that prints every secret in every form it can:
regex metacharacters, unicode, a newline, and a two-character value. No registered form (masking.py's
list) of any of them reaches stdout, stderr, GMS or a file the run leaves; the two-character value is
masked as a whole token only, as masking.py documents (masking it inside words would shred the output).
"""

from __future__ import annotations

import json
import re

from executor_common.masking import MIN_SUBSTRING_LENGTH, registered_forms
from runner_harness import child, make_spec

CANARIES = {
    "CANARY_META": r"c4n^.*+?(x)[y]{2}|$\z",
    "CANARY_UNI": "pässwörd-秘密-🔑-9f2",
    "CANARY_NL": "canary-line-one-71\ncanary-line-two-38",
    "CANARY_SHORT": "q7",
}


def _leaks(sinks: dict[str, str]) -> list[str]:
    found = []
    for name, value in CANARIES.items():
        for form in registered_forms(value):
            if len(form) >= MIN_SUBSTRING_LENGTH:
                pattern = re.compile(re.escape(form))
            else:
                pattern = re.compile(rf"(?<![\w]){re.escape(form)}(?![\w])")
            found += [f"{name} as {form!r} in {sink}" for sink, text in sinks.items() if pattern.search(text)]
    return found


def test_runner_canary_secrets_reach_no_sink_in_any_registered_form(runner, gms_standin, tmp_path):
    # GIVEN a recipe referencing the four canaries and a child that prints each in every form it knows
    config = {"path": "/dev/null", **{name.lower(): "${" + name + "}" for name in CANARIES}}
    spec = make_spec("canaries-1", {"source": {"type": "file", "config": config}}, secret_names=list(CANARIES))

    # WHEN the run completes
    result = runner.run(spec, dict(CANARIES), child=child("leaky.py", "{report_file}"))

    # THEN the child printed them (masking was exercised), the short one masked as a whole token ...
    assert result.returncode == 0, result.stderr
    for name in CANARIES:
        assert f"password for {name} is ********" in result.stdout
    # ... and no registered form of any canary is in stdout, stderr, what GMS received, or a file left behind
    sinks = {
        "stdout": result.stdout,
        "stderr": result.stderr,
        "GMS requests": json.dumps([r["body"] for r in gms_standin.requests], ensure_ascii=False),
        **{f"file {p.name}": p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()},
    }
    assert _leaks(sinks) == []


def test_runner_two_character_secret_inside_a_word_is_left_as_documented():
    """masking.py: values shorter than MIN_SUBSTRING_LENGTH are masked only as whole tokens."""
    from executor_common.masking import SecretMasker

    masker = SecretMasker(["q7"])

    assert masker.mask("token q7, and faq7s") == "token ********, and faq7s"
