"""Recipe facts every component agrees on: what a valid recipe is and which secrets it names."""

from __future__ import annotations

import json
import re
from typing import Any

_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
#: An environment-variable name: what a secret reference, a SECRET_ARNS entry or an extra env var may be called.
ENV_VAR_NAME = re.compile(rf"^{_IDENTIFIER}$")
#: `${NAME}` as DataHub's UI writes secret references; NAME is an env-var-safe identifier.
SECRET_REFERENCE = re.compile(rf"\$\{{({_IDENTIFIER})\}}")


def secret_references(recipe_text: str) -> list[str]:
    """Names referenced as `${NAME}` in the recipe, sorted and unique."""
    return sorted(set(SECRET_REFERENCE.findall(recipe_text)))


def parse_recipe(recipe_text: str) -> dict[str, Any]:
    """The recipe as a dict; ValueError naming what is wrong when it is not a runnable recipe."""
    try:
        recipe = json.loads(recipe_text)
    except ValueError as exc:
        raise ValueError(f"the recipe is not valid JSON: {exc}") from None
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
