"""The Lambda package that `sam build` makes (functions/Makefile): under 10 MiB and complete.

Built once with the very target sam build calls; then each handler is imported with only the package and
the packages the python3.11 runtime provides on the path, with tracing off and on (X-Ray patching runs).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

GOAL_BYTES = 10 * 1024 * 1024
#: What the python3.11 Lambda runtime provides besides the standard library (never packaged).
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "dateutil", "six.py")
HANDLERS = ("dispatcher.handler", "reconciler.handler", "backstop.handler")
LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "package-test",
    "LAMBDA_TASK_ROOT": "/var/task",
    "AWS_REGION": "us-east-1",
    "DATAHUB_GMS_URL": "https://gms.example.com",
    "ECS_CLUSTER": "c",
    "TASK_DEFINITION_ARN": "arn:aws:ecs:us-east-1:123456789012:task-definition/runner:1",
    "SUBNET_IDS": "subnet-1",
    "SECURITY_GROUP_IDS": "sg-1",
    "RUN_BUCKET": "b",
    "LOG_GROUP_NAME": "/l",
}


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("DispatcherFunction")
    done = subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO_ROOT / "functions"), "build-DispatcherFunction"],
        env={**os.environ, "ARTIFACTS_DIR": str(target), "MAKEFLAGS": ""},
        capture_output=True,
        text=True,
        timeout=600,
    )
    unreachable = "connection" in done.stderr.lower() or "No matching distribution" in done.stderr
    if done.returncode and unreachable:
        pytest.skip(f"pip could not fetch the wheels here: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr
    return target


@pytest.fixture(scope="module")
def runtime_packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """boto3 and its dependencies alone, as the runtime has them (symlinks into this interpreter's copies)."""
    runtime = tmp_path_factory.mktemp("runtime")
    site_packages = Path(next(p for p in sys.path if p.endswith("site-packages")))
    for name in RUNTIME_PACKAGES:
        os.symlink(site_packages / name, runtime / name)
    return runtime


def test_lambda_package_is_at_most_10_mib_unzipped(package: Path) -> None:
    size = sum(f.stat().st_size for f in package.rglob("*") if f.is_file())  # the bytecode it ships included

    assert size <= GOAL_BYTES, f"{size} bytes"
    assert not (package / "boto3").exists() and not (package / "botocore").exists()


@pytest.mark.parametrize("tracing_disabled", ["true", "false"])
@pytest.mark.parametrize("module", HANDLERS)
def test_lambda_package_imports_each_handler_with_runtime_packages_alone(
    package: Path, runtime_packages: Path, module: str, tracing_disabled: str
) -> None:
    # GIVEN only the package and the runtime's boto3 on the path (-S: no site-packages)
    code = (
        f"import sys; sys.path[:0] = ['.', {str(runtime_packages)!r}]\n"
        f"import {module}, {module.split('.')[0]}.observability as o\n"
        "assert o.tracer.disabled is (sys.argv[1] == 'true'), o.tracer\n"
        # requests' text decoding runs on charset_normalizer's pure-Python modules
        "import requests; r = requests.Response(); r.encoding = None\n"
        "r._content = 'Ingestion terminée: 12 entités émises, déjà à jour.'.encode()\n"
        "assert r.apparent_encoding == 'utf-8' and 'entités' in r.text, r.apparent_encoding\n"
        "import importlib.metadata; assert importlib.metadata.version('pydantic')\n"
    )
    env = {**LAMBDA_ENV, "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    env["POWERTOOLS_TRACE_DISABLED"] = tracing_disabled
    # WHEN the handler is imported (init validates its settings), THEN it succeeds
    done = subprocess.run(
        [sys.executable, "-S", "-c", code, tracing_disabled],
        cwd=package,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_lambda_package_ships_bytecode_loaded_at_init(package: Path, runtime_packages: Path) -> None:
    # GIVEN the package as built (pydantic and the packages it loads: bytecode in place of their sources)
    code = (
        f"import sys; sys.path[:0] = ['.', {str(runtime_packages)!r}]\n"
        "import dispatcher.handler, pydantic.main, pydantic_core.core_schema, typing_extensions\n"
        "print(pydantic.main.__file__, pydantic_core.core_schema.__file__, typing_extensions.__file__)\n"
    )
    # WHEN the dispatcher's init runs
    done = subprocess.run(
        [sys.executable, "-S", "-c", code],
        cwd=package,
        env={**LAMBDA_ENV, "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    # THEN it loaded their shipped bytecode (nothing compiled from source: /var/task is read-only)
    assert done.returncode == 0, done.stderr
    assert all(path.endswith(".pyc") for path in done.stdout.split()), done.stdout
    assert not list((package / "pydantic").rglob("*.py"))
    # AND our own modules keep their sources, beside checked-hash bytecode (PEP 552 flags 0b11)
    for source in [*(package / "dispatcher").glob("*.py"), *(package / "executor_common").rglob("*.py")]:
        cached = source.parent / "__pycache__" / f"{source.stem}.cpython-311.pyc"
        assert int.from_bytes(cached.read_bytes()[4:8], "little") == 0b11, cached
