"""Tests and benchmarks use the product's public seams only (issue 12 item 10).

A test that imports a private name (`_forms`, `_write_failure`) pins an implementation detail, so
a refactor breaks it and, worse, it can pass while the public path is wrong. This scans every test
and bench file's imports of the product's packages; a private name needs a public seam instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PRODUCT_PACKAGES = (
    "executor_common",
    "dispatcher",
    "reconciler",
    "backstop",
    "executor_runner",
    "executor_forwarder",
    "local_stack",
    "selftest",
)
SCANNED = sorted([*REPO.glob("tests/**/*.py"), *REPO.glob("bench/*.py")])


def private_reaches(path: Path) -> list[str]:
    """`from <product> import _name`, and `<product module>._name` for a module imported as a whole."""
    tree = ast.parse(path.read_text(), str(path))
    modules: set[str] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PRODUCT_PACKAGES:
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
                else:
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PRODUCT_PACKAGES:
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        ):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: str(p.relative_to(REPO)))
def test_tests_reach_no_private_name_of_the_product(path: Path) -> None:
    assert private_reaches(path) == []


def test_the_scan_finds_a_private_import(tmp_path: Path) -> None:
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "from executor_common.masking import _forms\nfrom dispatcher import logic\nlogic._write_failure()\n"
    )

    assert private_reaches(sample) == [
        "line 1: from executor_common.masking import _forms",
        "line 3: logic._write_failure",
    ]
