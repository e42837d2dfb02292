"""Recipe facts every component agrees on: what a valid recipe is and which variables it names."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from executor_common.env_policy import is_reserved_reference

_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
#: An environment-variable name: what a secret reference, a SECRET_ARNS entry or an extra env var may be called.
#: `\A...\Z` (not `^...$`): `$` would accept a trailing newline ("PATH\n").
ENV_VAR_NAME = re.compile(rf"\A{_IDENTIFIER}\Z")
#: `${NAME}` as DataHub's UI writes secret references; NAME is an env-var-safe identifier.
SECRET_REFERENCE = re.compile(rf"\$\{{({_IDENTIFIER})\}}")
#: Every variable reference `datahub ingest` may expand (the `expandvars` grammar its config loader
#: uses): `$NAME`, `${NAME}`, `${NAME:-x}`, `${NAME-x}`, `${#NAME}`, `${!NAME}` (indirect). A name
#: is what expandvars reads: letters, digits and `_` as `str.isalnum` sees them, which is what `\w`
#: matches. Found at every `$`, so references nested in a default (`${A:-$B}`) are found too, and an
#: escaped `\$NAME` is treated as a reference (refusing it is the safe side). Linear: no nesting.
VARIABLE_REFERENCE = re.compile(r"\$\{?([!#]?)(\w+)")


def is_env_var_name(name: str) -> bool:
    return ENV_VAR_NAME.fullmatch(name) is not None


def secret_references(recipe_text: str) -> list[str]:
    """Names referenced as `${NAME}` in the recipe, sorted and unique."""
    return sorted(set(SECRET_REFERENCE.findall(recipe_text)))


def parse_recipe(recipe_text: str) -> dict[str, Any]:
    """The recipe as a dict; ValueError naming what is wrong when it is not a runnable recipe."""
    try:
        recipe = json.loads(recipe_text)
    except RecursionError:
        raise ValueError("the recipe is nested too deeply") from None
    except ValueError as exc:
        raise ValueError(f"the recipe is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(recipe, dict):
        raise ValueError("the recipe must be a JSON object")
    source = recipe.get("source")
    if not isinstance(source, dict):
        raise ValueError("the recipe has no 'source' section")
    if not isinstance(source.get("type"), str) or not source["type"].strip():
        raise ValueError("the recipe's source has no 'type'")
    return recipe


def source_type(recipe: dict[str, Any]) -> str:
    return str(recipe["source"]["type"])


def _string_values(value: Any) -> Iterator[str]:
    """Every string value in a parsed recipe, without recursion (the CLI expands values, not keys)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def reserved_references(recipe_text: str) -> list[str]:
    """Problems, one per variable: references a recipe must not make (the GMS token, credentials, plumbing).

    Looks at the decoded values (a JSON `\\u0024` is a `$` to the CLI) and, when the text is
    not JSON, at the raw text. Names are compared case-insensitively. An indirect reference
    (`${!NAME}`) is refused whatever it names: its target cannot be known here.
    """
    try:
        texts: list[str] = list(_string_values(json.loads(recipe_text)))
    except (ValueError, RecursionError):
        texts = [recipe_text]
    problems: dict[str, str] = {}
    for text in texts:
        if "$" not in text:
            continue
        for match in VARIABLE_REFERENCE.finditer(text):
            flag, name = match.group(1), match.group(2)
            key = name.upper()
            if flag == "!":
                problems.setdefault(
                    "!" + key, f"the indirect reference ${{!{name[:64]}}} is not allowed (its target cannot be checked)"
                )
                continue
            row = is_reserved_reference(name)
            if row is not None:
                problems.setdefault(key, f"refers to ${name[:64]}: reserved ({row.reason}); a recipe cannot read it")
    return [problems[key] for key in sorted(problems)]
