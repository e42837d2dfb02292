"""Resources as template.yaml declares them, after the SAM transform, for fixtures that build AWS in moto.

Integration fixtures register the runner task definition and set a function's environment from the
translated template instead of declaring them again, so a fixture cannot drift from what `sam deploy`
creates. Intrinsics are resolved with the names the fixture chose for the stack's resources (a test
knows its cluster as a constant); a reference the fixture did not name fails loudly, so a new
template reference is noticed here rather than silently left as `{"Ref": ...}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from local_stack.cfn import load_template, point_code_at, translate

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Property maps whose keys are data (log driver options, tags by name), not API field names.
_VERBATIM_KEYS = frozenset({"Options", "DockerLabels"})
_SUB_REFERENCE = re.compile(r"\$\{([^}!]+)\}")


@cache
def _translated(parameters: tuple[tuple[str, str], ...], region: str) -> dict[str, Any]:
    sam = load_template(REPO_ROOT / "template.yaml")
    return translate(point_code_at(sam, "sam-artifacts", "functions.zip"), dict(parameters), region)


class TemplateResources:
    """template.yaml translated with `parameters`, its intrinsics resolved against `names`.

    `names` maps a logical id (or `Logical.Attribute` for `Fn::GetAtt`) to the physical value the
    fixture created; parameters resolve to the values given, else the template's defaults.
    """

    def __init__(
        self,
        parameters: Mapping[str, str],
        names: Mapping[str, Any],
        *,
        region: str,
        account_id: str,
        stack_name: str,
    ) -> None:
        self.template = _translated(tuple(sorted(parameters.items())), region)
        defaults = {k: v.get("Default") for k, v in self.template.get("Parameters", {}).items() if "Default" in v}
        declared = self.template.get("Parameters", {})
        # CloudFormation passes every parameter value as a string (a Number's Ref included); lists are split below.
        given: dict[str, Any] = {
            k: v if isinstance(v, str | list) else str(v) for k, v in {**defaults, **parameters}.items()
        }
        for name, spec in declared.items():  # a list parameter's Ref is a list (Fn::Join takes it back)
            if name in given and isinstance(given[name], str) and _is_list_type(spec.get("Type", "")):
                given[name] = given[name].split(",")
        self._refs: dict[str, Any] = {
            **given,
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::StackName": stack_name,
            "AWS::Partition": "aws",
            "AWS::NoValue": None,
            **names,
        }

    def name(self, logical_id: str, value: Any) -> None:
        """The physical value of a resource the fixture created after this was built (e.g. a registered ARN)."""
        self._refs[logical_id] = value

    def properties(self, logical_id: str) -> dict[str, Any]:
        resolved = self.resolve(self.template["Resources"][logical_id]["Properties"])
        assert isinstance(resolved, dict)
        return resolved

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """The Lambda function's environment as AWS sets it (Globals merged by the transform)."""
        declared = self.template["Resources"][logical_id]["Properties"].get("Environment", {})
        variables = self.resolve(declared).get("Variables", {})
        return {name: _text(value) for name, value in variables.items()}

    def task_definition_request(self, logical_id: str) -> dict[str, Any]:
        """RegisterTaskDefinition's arguments for an AWS::ECS::TaskDefinition (CloudFormation's names -> ECS's)."""
        request = _api_names(self.properties(logical_id))
        for key in ("cpu", "memory"):  # task-level sizes are strings in the ECS API
            if key in request:
                request[key] = _text(request[key])
        for container in request.get("containerDefinitions", []):
            for key in ("memory", "memoryReservation", "cpu", "stopTimeout"):
                if key in container:
                    container[key] = int(container[key])
        if "ephemeralStorage" in request:
            request["ephemeralStorage"]["sizeInGiB"] = int(request["ephemeralStorage"]["sizeInGiB"])
        return request

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(item) for item in value) if v is not None]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(argument)
            if key == "Fn::GetAtt":
                target = ".".join(argument) if isinstance(argument, list) else argument
                return self._ref(target)
            if key == "Fn::Join":
                separator, items = argument
                return separator.join(_text(v) for v in self.resolve(items))
            if key == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]
                return _SUB_REFERENCE.sub(lambda m: _text(self._ref(m.group(1))), text)
            if key == "Fn::If":
                condition, when_true, when_false = argument
                return self.resolve(when_true if self._condition(condition) else when_false)
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in value.items()) if v is not None}

    def _condition(self, name: str) -> bool:
        return self._truth(self.template["Conditions"][name])

    def _truth(self, expression: Any) -> bool:
        ((key, argument),) = expression.items()
        if key == "Condition":
            return self._condition(argument)
        if key == "Fn::Not":
            return not self._truth(argument[0])
        if key == "Fn::And":
            return all(self._truth(item) for item in argument)
        if key == "Fn::Or":
            return any(self._truth(item) for item in argument)
        if key == "Fn::Equals":
            left, right = (_text(self.resolve(item)) for item in argument)
            return left == right
        raise KeyError(f"condition function {key} is not evaluated here")

    def _ref(self, name: str) -> Any:
        if name not in self._refs:
            raise KeyError(f"template.yaml refers to {name!r}: name it in the fixture's `names`")
        return self._refs[name]


def _is_list_type(parameter_type: str) -> bool:
    return parameter_type == "CommaDelimitedList" or parameter_type.startswith("List<")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return str(value)


def _api_names(value: Any) -> Any:
    """CloudFormation's PascalCase property names as the ECS API's camelCase; data maps left as they are."""
    if isinstance(value, list):
        return [_api_names(v) for v in value]
    if not isinstance(value, dict):
        return value
    return {
        key[:1].lower() + key[1:]: (dict(item) if key in _VERBATIM_KEYS else _api_names(item))
        for key, item in value.items()
    }
