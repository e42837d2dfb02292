"""Reading template.yaml as SAM does (`!Ref`/`!Sub`/... become `Fn::` forms) and walking its IAM policies."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from samtranslator.yaml_helper import yaml_parse

from tests.conftest import REPO_ROOT


@cache
def load_template() -> dict[str, Any]:
    return yaml_parse((REPO_ROOT / "template.yaml").read_text())


def resource(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]


def if_branches(node: Any) -> Iterator[Any]:
    """Every value a node may take: both branches of each Fn::If, never AWS::NoValue."""
    if isinstance(node, dict) and "Fn::If" in node:
        _, when_true, when_false = node["Fn::If"]
        yield from if_branches(when_true)
        yield from if_branches(when_false)
    elif node != {"Ref": "AWS::NoValue"}:
        yield node


def policy_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, statement) for every inline IAM statement of every role and function."""
    for logical_id, body in template["Resources"].items():
        properties = body.get("Properties", {})
        documents: list[dict[str, Any]] = []
        if body["Type"] == "AWS::IAM::Role":
            documents = [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
        elif body["Type"] == "AWS::Serverless::Function":
            documents = [policy for policy in properties.get("Policies", []) if isinstance(policy, dict)]
        for document in documents:
            for statement in document["Statement"]:
                for branch in if_branches(statement):
                    yield logical_id, branch


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def evaluate(node: Any, parameters: dict[str, str]) -> Any:
    """A tiny evaluator for the intrinsic functions the Rules section may use."""
    if isinstance(node, list):
        return [evaluate(item, parameters) for item in node]
    if not isinstance(node, dict):
        return node
    ((name, args),) = node.items()
    if name == "Ref":
        return parameters[args]
    values = evaluate(args, parameters)
    match name:
        case "Fn::Equals":
            return str(values[0]) == str(values[1])
        case "Fn::Contains":
            return str(values[1]) in [str(v) for v in values[0]]
        case "Fn::And":
            return all(values)
        case "Fn::Or":
            return any(values)
        case "Fn::Not":
            return not values[0]
    raise AssertionError(f"unexpected function {name} in Rules")


def rule_failures(parameters: dict[str, str]) -> list[str]:
    """The AssertDescription of every rule assertion these parameter values break."""
    failures = []
    for rule in load_template()["Rules"].values():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], parameters):
            continue
        failures += [a["AssertDescription"] for a in rule["Assertions"] if not evaluate(a["Assert"], parameters)]
    return failures
