"""Evaluate identity policies the way IAM does, for the requests the product makes.

moto stores IAM policies but never evaluates them, and IAM's own simulator needs an account.
This evaluator implements the parts of IAM's evaluation logic the template uses: an explicit
Deny wins, otherwise one matching Allow is needed; Action (case-insensitive) and Resource match
with `*` and `?`; a Condition holds when every operator block holds, every key in it holds, and
any one of the key's values matches, and a key absent from the request makes it false. An
operator it does not know raises, so a new kind of condition cannot pass unchecked.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Decision(StrEnum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitDeny"
    IMPLICIT_DENY = "implicitDeny"


@dataclass(frozen=True)
class Request:
    """One API call as IAM sees it: the action, the resource ARN and the request's condition keys."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


def evaluate(documents: Iterable[Mapping[str, Any]], request: Request) -> Decision:
    allowed = False
    for document in documents:
        for statement in as_list(document["Statement"]):
            if not _applies(statement, request):
                continue
            if statement["Effect"] == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = True
    return Decision.ALLOWED if allowed else Decision.IMPLICIT_DENY


def policy_document(stored: str | Mapping[str, Any]) -> Mapping[str, Any]:
    """A policy document as boto3 returns it: a dict, JSON text, or (moto) the repr of a dict."""
    if isinstance(stored, Mapping):
        return stored
    try:
        return json.loads(stored)
    except json.JSONDecodeError:
        return ast.literal_eval(stored)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "NotAction" in statement or "NotResource" in statement:
        raise NotImplementedError("NotAction / NotResource are not used by the template")
    return (
        any(_glob(pattern, request.action, ignore_case=True) for pattern in as_list(statement["Action"]))
        and any(_glob(pattern, request.resource) for pattern in as_list(statement["Resource"]))
        and all(
            _condition_holds(operator, keys, request.context)
            for operator, keys in statement.get("Condition", {}).items()
        )
    )


def _condition_holds(operator: str, keys: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    match = _OPERATORS.get(operator)
    if match is None:
        raise NotImplementedError(f"condition operator {operator} is not evaluated here")
    return all(
        key in context and any(match(str(expected), context[key]) for expected in as_list(values))
        for key, values in keys.items()
    )


def _glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _arn_like(pattern: str, value: str) -> bool:
    """ARN operators compare the six colon-separated parts one by one; wildcards stay within a part."""
    pattern_parts, value_parts = pattern.split(":", 5), value.split(":", 5)
    return len(pattern_parts) == len(value_parts) == 6 and all(
        _glob(p, v) for p, v in zip(pattern_parts, value_parts, strict=True)
    )


_OPERATORS = {
    "StringEquals": lambda expected, actual: expected == actual,
    "StringLike": _glob,
    "ArnEquals": _arn_like,  # IAM: ArnEquals and ArnLike behave the same
    "ArnLike": _arn_like,
    "Bool": lambda expected, actual: expected.lower() == actual.lower(),
}
