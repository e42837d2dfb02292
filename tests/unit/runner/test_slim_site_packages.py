"""The runner image's site-packages slimming (runner/slim_site_packages.py) on small real trees.

The whole path (every baked plugin loading, a real SQLite ingestion, the runner in the image) is the
build stage's gate and tests/integration/runner/test_runner_image.py; these pin each step's contract.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


def _slim():
    spec = importlib.util.spec_from_file_location("slim_site_packages", REPO_ROOT / "runner" / "slim_site_packages.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(path: Path, data: bytes = b"x = 1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_prune_removes_the_listed_paths_and_nothing_else(tmp_path):
    # GIVEN a site-packages with listed paths (test suites, Flight, stubs) beside code that runs
    listed = [
        _write(tmp_path / "pandas" / "tests" / "test_frame.py"),
        _write(tmp_path / "numpy" / "_core" / "tests" / "test_umath.py"),
        _write(tmp_path / "pyarrow" / "flight.py"),
        _write(tmp_path / "pyarrow" / "libarrow_flight.so.2300"),
        _write(tmp_path / "datahub" / "py.typed.pyi"),
    ]
    kept = [
        _write(tmp_path / "pandas" / "core" / "frame.py"),
        _write(tmp_path / "pyarrow" / "parquet" / "core.py"),
        _write(tmp_path / "pyarrow" / "libarrow.so.2300"),
        _write(tmp_path / "someplugin" / "tests" / "fixtures.py"),  # not on the list: stays
    ]

    # WHEN it is pruned
    freed = _slim().prune(tmp_path)

    # THEN exactly the listed paths are gone
    assert freed == sum(len(b"x = 1\n") for _ in listed)
    assert not any(p.exists() for p in listed)
    assert all(p.exists() for p in kept)


def test_identical_library_copies_become_symlinks_to_the_fully_versioned_file(tmp_path):
    # GIVEN pyarrow's three identical copies of one library, and two different libraries sharing a stem
    body = b"\x7fELF same bytes" * 100
    names = ["libarrow_python.so", "libarrow_python.so.2300", "libarrow_python.so.2300.1.0"]
    for name in names:
        _write(tmp_path / "pyarrow" / name, body)
    _write(tmp_path / "other" / "libx.so", b"one")
    _write(tmp_path / "other" / "libx.so.1", b"two")

    # WHEN duplicates are folded
    freed = _slim().dedupe_shared_libraries(tmp_path)

    # THEN one real file remains, the others link to it and read the same; different bytes stay apart
    assert freed == 2 * len(body)
    real = tmp_path / "pyarrow" / "libarrow_python.so.2300.1.0"
    assert not real.is_symlink()
    for name in names[:2]:
        link = tmp_path / "pyarrow" / name
        assert link.is_symlink() and link.readlink() == Path(real.name) and link.read_bytes() == body
    assert not (tmp_path / "other" / "libx.so").is_symlink()
    assert not (tmp_path / "other" / "libx.so.1").is_symlink()


@pytest.mark.skipif(shutil.which("strip") is None or shutil.which("ldd") is None, reason="needs binutils and ldd")
def test_strip_shrinks_loadable_objects_and_leaves_vendored_libraries_alone(tmp_path):
    # GIVEN a real unstripped extension module (sqlglot's mypyc code) and an auditwheel-vendored library
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    extension = next(iter(sorted((site / "sqlglot").glob("*__mypyc*.so"))), None)
    vendored = next(iter(sorted(site.glob("*.libs/*.so*"))), None)
    if extension is None or vendored is None:
        pytest.skip("no compiled sqlglot or vendored library in this environment")
    ext_copy = shutil.copy2(extension, tmp_path / extension.name)
    vendored_copy = shutil.copy2(vendored, _write(tmp_path / "pkg.libs" / vendored.name))
    before_ext, before_vendored = Path(ext_copy).stat().st_size, Path(vendored_copy).read_bytes()

    # WHEN shared objects are stripped
    freed, restored = _slim().strip_shared_objects(tmp_path)

    # THEN the extension shrank and still loads; the vendored library is byte for byte what it was
    assert restored == []
    assert 0 < freed == before_ext - Path(ext_copy).stat().st_size
    assert subprocess.run(["ldd", str(ext_copy)], capture_output=True).returncode == 0
    assert Path(vendored_copy).read_bytes() == before_vendored


def test_bytecode_is_written_unchecked_for_the_given_modules_only(tmp_path):
    # GIVEN two modules of which one was imported
    imported = _write(tmp_path / "pkg" / "used.py", b"VALUE = 1\n")
    _write(tmp_path / "pkg" / "unused.py", b"VALUE = 2\n")

    # WHEN bytecode is compiled for the imported one
    written = _slim().compile_imported([str(imported)])

    # THEN only it has a .pyc, hash-based and unchecked (flags == 0b01: the source is never re-read)
    pyc = Path(importlib.util.cache_from_source(str(imported)))
    assert written == pyc.stat().st_size > 0
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01
    assert sorted(p.name for p in (tmp_path / "pkg" / "__pycache__").iterdir()) == [pyc.name]
