"""functions/requirements.txt: installed with --no-deps by sam build, so it must be the full closure."""

from __future__ import annotations

import importlib.metadata
import re

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from sam_template import REPO_ROOT, load_template

# What the python3.11 Lambda runtime provides; never packaged (boto3 and its dependencies).
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "python-dateutil", "six"}
REQUIRED_TOP_LEVEL = {"aws-lambda-powertools", "pydantic", "requests"}


def requirements(path: str) -> dict[str, Requirement]:
    lines = (REPO_ROOT / path).read_text().splitlines()
    parsed = [Requirement(line.split("#", 1)[0].strip()) for line in lines if line.split("#", 1)[0].strip()]
    return {canonicalize_name(r.name): r for r in parsed}


def pinned_version(requirement: Requirement) -> str:
    match = re.fullmatch(r"==(.+)", str(requirement.specifier))
    assert match, f"{requirement.name} is not pinned with =="
    return match.group(1)


def dependencies(name: str, extras: set[str]) -> set[str]:
    """The installed distribution's runtime dependencies, with the requested extras."""
    found = set()
    for line in importlib.metadata.requires(name) or []:
        requirement = Requirement(line)
        environments = [{"extra": extra} for extra in extras or {""}]
        if requirement.marker is None or any(requirement.marker.evaluate(env) for env in environments):
            found.add(canonicalize_name(requirement.name))
    return found


def test_lambda_requirements_pin_the_dev_lock_versions() -> None:
    lock = requirements("requirements/dev.lock")
    lambda_requirements = requirements("functions/requirements.txt")

    mismatched = {
        name: (pinned_version(r), pinned_version(lock[name]))
        for name, r in lambda_requirements.items()
        if pinned_version(r) != pinned_version(lock[name])
    }

    assert mismatched == {}


def test_lambda_requirements_include_the_chosen_libraries_with_the_tracer_extra() -> None:
    lambda_requirements = requirements("functions/requirements.txt")

    assert set(lambda_requirements) >= REQUIRED_TOP_LEVEL
    assert lambda_requirements["aws-lambda-powertools"].extras == {"tracer"}


def test_lambda_requirements_are_a_complete_closure_except_the_runtime_packages() -> None:
    lambda_requirements = requirements("functions/requirements.txt")

    missing = {
        (name, dependency)
        for name, requirement in lambda_requirements.items()
        for dependency in dependencies(name, set(requirement.extras))
        if dependency not in lambda_requirements and dependency not in RUNTIME_PROVIDED
    }

    assert missing == set()


def test_lambda_requirements_never_package_boto3_or_botocore() -> None:
    assert not set(requirements("functions/requirements.txt")) & RUNTIME_PROVIDED


def test_every_function_builds_with_the_makefile_target_sam_calls() -> None:
    """sam build runs `make build-<LogicalId>` for BuildMethod makefile; a function without a target fails."""
    template = load_template()
    makefile = (REPO_ROOT / "functions" / "Makefile").read_text()
    functions = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"]

    assert functions
    for logical_id in functions:
        assert template["Resources"][logical_id]["Metadata"]["BuildMethod"] == "makefile"
        assert f"build-{logical_id}" in makefile
