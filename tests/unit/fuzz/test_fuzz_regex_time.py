"""Every regular expression that sees message data runs in linear time (issue 10 item 1).

A safety property, so it is bounded in time: each call on a ~10,000-character adversarial
input must finish in under 0.5 s (a backtracking pattern takes hours on these). The
module-level patterns are found by walking the packages, so a pattern added later is
tested too; patterns built inside functions are reached through those functions.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
#: Packages whose code sees SQS bodies, recipes, ECS events, GMS answers or DataHub events.
PACKAGES = {
    "dispatcher": REPO / "functions" / "dispatcher",
    "executor_common": REPO / "functions" / "executor_common",
    "reconciler": REPO / "functions" / "reconciler",
    "executor_runner": REPO / "runner" / "executor_runner",
    "executor_forwarder": REPO / "forwarder" / "executor_forwarder",
}
SKIPPED_MODULES = {"executor_runner.__main__"}
LIMIT_SECONDS = 0.5
N = 10_000

#: Classic catastrophic-backtracking shapes: long runs that almost match, then fail at the end.
ADVERSARIAL = [
    "a" * N + "!",
    "1.0" + "a" * N + "!",
    "1." * (N // 2) + "!",
    "1" * N + "\n",
    "v" + "1" * N + "x",
    "${" * (N // 2),
    "$" * N,
    "${" + "A" * N,
    "${A:-" * (N // 5),
    "$A" * (N // 2),
    "\\" * N,
    '"' * N,
    '"\\"' * (N // 3),
    "{" * N,
    "[" * N + "]",
    " " * N + "x",
    "\t\n" * (N // 2) + "x",
    "-" * N + "!",
    "+a" * (N // 2) + "!",
    ".a" * (N // 2) + "!",
    "aA0_" * (N // 4) + "\n",
    "arn:aws:" * (N // 8),
    "arn:aws:secretsmanager:a:" + "1" * N + "x",
    "arn:aws:secretsmanager:" + "a-" * (N // 2),
    "[written by the executor's reconciler for ECS task " + "x" * N,
    "[written by the executor's reconciler for ECS task x, event version 1]" + " " * N + "x",
    "https://sqs." + "a-" * (N // 2),
    "rate(" + "1" * N + " minutes",
    "urn:li:dataHubExecutionRequest:" + "a" * N,
    "PATH" + "\n" * N,
]


def _patterns() -> Iterator[tuple[str, re.Pattern[str]]]:
    for package, folder in PACKAGES.items():
        for info in pkgutil.walk_packages([str(folder)], prefix=f"{package}."):
            if info.name in SKIPPED_MODULES:
                continue
            module = importlib.import_module(info.name)
            for attribute, value in vars(module).items():
                if isinstance(value, re.Pattern) and value.pattern and isinstance(value.pattern, str):
                    yield f"{info.name}.{attribute}", value


PATTERNS = dict(_patterns())


def _bounded(call: Callable[[], object], what: str) -> None:
    started = time.perf_counter()
    call()
    elapsed = time.perf_counter() - started
    assert elapsed < LIMIT_SECONDS, f"{what} took {elapsed:.2f} s"


def test_the_walk_finds_the_patterns_that_see_message_data():
    # a guard against the walk silently finding nothing
    assert {"executor_common.recipe.VARIABLE_REFERENCE", "executor_common.recipe.ENV_VAR_NAME"} <= set(PATTERNS)
    assert "dispatcher.validation._VERSION_CHARS" in PATTERNS and "executor_common.json_peek._STRING" in PATTERNS


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_module_pattern_is_linear_on_adversarial_input(name):
    pattern = PATTERNS[name]
    for text in ADVERSARIAL:
        _bounded(lambda text=text: pattern.search(text), f"{name}.search on {text[:30]!r}...")
        _bounded(lambda text=text: pattern.fullmatch(text), f"{name}.fullmatch on {text[:30]!r}...")
        _bounded(lambda text=text: sum(1 for _ in pattern.finditer(text)), f"{name}.finditer on {text[:30]!r}...")


def _functions() -> dict[str, Callable[[str], object]]:
    """Functions that build or apply regexes on message data, each taking one untrusted string."""
    from dispatcher.planner import started_by_for
    from dispatcher.routing import route
    from dispatcher.validation import normalize_version, requirement_problem
    from executor_common.contract import recover_execution_urn
    from executor_common.env_policy import classify_env_name
    from executor_common.masking import SecretMasker
    from executor_common.recipe import is_env_var_name, reserved_references, secret_references

    masker = SecretMasker(["p@ss(w)ord*+?", "ab", "ünïcødé\nline"])

    def _quiet(call: Callable[[str], object]) -> Callable[[str], object]:
        def run(text: str) -> object:
            try:
                return call(text)
            except ValueError:
                return None

        return run

    return {
        "normalize_version": _quiet(normalize_version),
        "requirement_problem": requirement_problem,
        "is_env_var_name": is_env_var_name,
        "classify_env_name": classify_env_name,
        "secret_references": secret_references,
        "reserved_references(raw)": reserved_references,
        "reserved_references(json)": lambda text: reserved_references(json.dumps({"source": {"x": text}})),
        "route": lambda text: route(text, "remote"),
        "route(in aspect)": lambda text: route('{"entityUrn": "x", "aspect": {"executorId": ' + text + "}}", "remote"),
        "recover_execution_urn": recover_execution_urn,
        "started_by_for": _quiet(started_by_for),
        "SecretMasker.mask": masker.mask,
    }


FUNCTIONS = _functions()


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_applying_regexes_is_linear_on_adversarial_input(name):
    call = FUNCTIONS[name]
    for text in ADVERSARIAL:
        _bounded(lambda text=text: call(text), f"{name} on {text[:30]!r}...")
