"""Size of the Lambda package that `sam build` produces (goal: <= 10 MB unzipped; boto3 from the runtime).

Builds first when `.aws-sam/build/DispatcherFunction` is missing (SAM CLI from `.tools`, no Docker).
Prints the unzipped and zipped sizes and the largest top-level entries, so a regression names its cause.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = REPO_ROOT / ".aws-sam" / "build" / "DispatcherFunction"
SAM = REPO_ROOT / ".tools" / "bin" / "sam"
GOAL_BYTES = 10 * 1024 * 1024
MB = 1024 * 1024
#: What the python3.11 Lambda runtime provides besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "dateutil", "six.py", "jmespath")
HANDLER_MODULES = ("dispatcher.handler", "reconciler.handler", "backstop.handler")


def package_files(path: Path) -> list[Path]:
    """Every file sam build put there, the bytecode it ships included (imports here never write any)."""
    return [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]


def tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in package_files(path))


def zipped_bytes(root: Path) -> int:
    """What Lambda receives: the directory deflated, as `sam package` uploads it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(package_files(root)):
            archive.write(file, file.relative_to(root))
    return buffer.tell()


def handlers_import_from_package_alone() -> str:
    """Import every handler with only the package and the runtime's own packages on the path (no site-packages)."""
    site_packages = Path(next(p for p in sys.path if p.endswith("site-packages")))
    with tempfile.TemporaryDirectory() as runtime:
        for name in RUNTIME_PACKAGES:
            os.symlink(site_packages / name, Path(runtime) / name)
        code = f"import sys; sys.path[:0] = ['.', {runtime!r}]; import " + ", ".join(HANDLER_MODULES)
        env = {"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "PYTHONDONTWRITEBYTECODE": "1"}
        result = subprocess.run(
            [sys.executable, "-S", "-c", code], cwd=BUILD_DIR, env=env, capture_output=True, text=True, check=False
        )
    return "yes" if result.returncode == 0 else f"NO: {result.stderr.strip().splitlines()[-1]}"


def main() -> dict[str, Any]:
    if not BUILD_DIR.is_dir():
        print(f"{BUILD_DIR.relative_to(REPO_ROOT)} missing: running sam build", flush=True)
        subprocess.run([str(SAM), "build"], cwd=REPO_ROOT, check=True, capture_output=True)
    total = tree_bytes(BUILD_DIR)
    verdict = "OK" if total <= GOAL_BYTES else "OVER GOAL"
    print(f"DispatcherFunction unzipped: {total / MB:.2f} MiB ({total} bytes), goal <= 10 MiB: {verdict}")
    print(f"DispatcherFunction zipped:   {zipped_bytes(BUILD_DIR) / MB:.2f} MiB")
    entries = sorted(((tree_bytes(p), p.name) for p in BUILD_DIR.iterdir()), reverse=True)
    print("largest entries:")
    for size, name in entries[:8]:
        print(f"  {size / MB:6.2f} MiB  {name}")
    bundled_boto = [name for name in ("boto3", "botocore") if (BUILD_DIR / name).exists()]
    print(f"boto3/botocore bundled: {', '.join(bundled_boto) or 'no (taken from the runtime)'}")
    print(f"handlers import from the package + runtime packages alone: {handlers_import_from_package_alone()}")
    return {"unzipped_bytes": total}


if __name__ == "__main__":
    main()
