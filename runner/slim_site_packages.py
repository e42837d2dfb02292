"""Slims the runner image's site-packages in the Dockerfile's build stage (issue 13 item 5).

Fargate keeps no image cache, so every run pulls the whole image. This removes, from the freshly
installed site-packages (`pip install --prefix`, nothing else in it), only what no import needs:

1. PRUNE: an explicit, reviewed list of paths (test suites, C/Cython headers and sources, type stubs,
   Arrow Flight, which no DataHub source imports), each with its reason.
2. Identical copies of one shared library (wheels cannot hold symlinks, so pyarrow ships
   `libarrow_python.so`, `.so.2300` and `.so.2300.1.0` as three files): one file, the others symlinks.
3. Symbol tables of shared objects (`strip --strip-unneeded`), except auditwheel's vendored
   libraries (`*.libs/`): patchelf rewrote those, and strip makes the loader refuse them ("ELF load
   command address/offset not page-aligned", seen with numpy's OpenBLAS). Every stripped file must
   still load (`ldd`), else the original is put back.
4. A warm-up that fails the build when step 1 removed an import: it loads every baked plugin
   (source and sink registries, as `datahub ingest` does) and, with the sqlalchemy plugin, runs a real
   `datahub ingest` pipeline of a SQLite database to a file sink.
5. Bytecode for exactly the modules the warm-up imported (the runner's start path), as
   unchecked-hash .pyc (the image is read-only to the runner, so sources never change under them).
   Everything else compiles in memory on first import: compiling all of site-packages cost ~145 MB
   for modules most runs never import; compiling none added seconds to every run's start.

Usage: python slim_site_packages.py SITE_PACKAGES --plugins datahub-rest,postgres,...
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.util
import py_compile
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

#: Path globs relative to site-packages, with why nothing imports them.
PRUNE: dict[str, str] = {
    "pandas/tests": "pandas' own test suite",
    "numpy/tests": "numpy's own test suites",
    "numpy/*/tests": "numpy's own test suites",
    "numpy/_core/include": "C headers for building against numpy",
    "pyarrow/tests": "Arrow's own test suite",
    "pyarrow/_pyarrow_cpp_tests.*.so": "Arrow's C++ test hooks, imported by its test suite only",
    "pyarrow/include": "C++ headers for building against Arrow",
    "pyarrow/includes": "Cython declarations for building against Arrow",
    "pyarrow/src": "C++ sources of libarrow_python",
    "pyarrow/*.pxd": "Cython sources",
    "pyarrow/*.pxi": "Cython sources",
    "pyarrow/*.pyx": "Cython sources",
    "pyarrow/*.h": "C headers",
    "pyarrow/flight.py": "Arrow Flight RPC: no DataHub source imports pyarrow.flight",
    "pyarrow/_flight.*.so": "Arrow Flight RPC (pyarrow.flight only)",
    "pyarrow/libarrow_flight.so*": "Arrow Flight RPC (needed by _flight only)",
    "pyarrow/libarrow_python_flight.so*": "Arrow Flight RPC (needed by _flight only)",
    "snowflake/connector/nanoarrow_cpp": "C++ sources of the compiled nanoarrow iterator",
    "greenlet/tests": "greenlet's own test suite",
    "jsonschema/tests": "jsonschema's own test suite",
    "referencing/tests": "referencing's own test suite",
    "tests": "a stray top-level test package of tableschema/tabulator",
    "**/*.pyi": "type stubs: read by type checkers, never by the interpreter",
}
_SHARED_OBJECT = re.compile(r"\.so(\.\d+)*$")
#: Auditwheel's vendored libraries live in `<dist>.libs/`; strip breaks them (see the module docstring).
VENDORED_LIBS = "*.libs"


def _size(paths: Iterable[Path]) -> int:
    return sum(p.stat().st_size for p in paths if p.is_file() and not p.is_symlink())


def _tree_size(root: Path) -> int:
    return _size(root.rglob("*")) if root.is_dir() else _size([root])


def prune(site: Path) -> int:
    freed = 0
    for pattern in PRUNE:
        for path in sorted(site.glob(pattern), reverse=True):
            if not path.exists():
                continue
            freed += _tree_size(path)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    return freed


def _shared_objects(site: Path) -> list[Path]:
    """`x.so`, `libx.so.23`, `libx.so.2300.1.0`: ELF shared objects by name (not `x.source.py`)."""
    return sorted(
        p for p in site.rglob("*.so*") if _SHARED_OBJECT.search(p.name) and p.is_file() and not p.is_symlink()
    )


def dedupe_shared_libraries(site: Path) -> int:
    """`libX.so`, `libX.so.N`, `libX.so.N.M` with the same bytes in one folder: keep the longest name."""
    freed = 0
    groups: dict[tuple[Path, str], list[Path]] = {}
    for path in _shared_objects(site):
        if path.name.startswith("lib"):
            groups.setdefault((path.parent, path.name.split(".so")[0]), []).append(path)
    for paths in groups.values():
        keep = max(paths, key=lambda p: len(p.name))
        for other in paths:
            if other != keep and filecmp.cmp(other, keep, shallow=False):
                freed += other.stat().st_size
                other.unlink()
                other.symlink_to(keep.name)
    return freed


def strip_shared_objects(site: Path) -> tuple[int, list[str]]:
    freed, restored = 0, []
    vendored = {p for d in site.glob(VENDORED_LIBS) for p in d.rglob("*")}
    with tempfile.TemporaryDirectory() as tmp:
        backup = Path(tmp) / "original"
        for path in _shared_objects(site):
            if path in vendored:
                continue
            before = path.stat().st_size
            shutil.copy2(path, backup)
            if subprocess.run(["strip", "--strip-unneeded", str(path)], capture_output=True).returncode != 0:
                shutil.copy2(backup, path)
                continue
            if subprocess.run(["ldd", str(path)], capture_output=True).returncode != 0:
                shutil.copy2(backup, path)  # the loader would refuse the stripped file: keep the original
                restored.append(str(path.relative_to(site)))
                continue
            freed += before - path.stat().st_size
    return freed, restored


def warm_up(site: Path, plugins: list[str]) -> list[str]:
    """Import what a run imports; return the site-packages modules that got imported."""
    sys.path.insert(0, str(site))
    import boto3
    import datahub.entrypoints  # noqa: F401  (the CLI's own imports)
    from datahub.ingestion.run.pipeline import Pipeline
    from datahub.ingestion.sink.sink_registry import sink_registry
    from datahub.ingestion.source.source_registry import source_registry

    for plugin in plugins:
        for registry in (source_registry, sink_registry):
            if plugin in registry.mapping:
                registry.get(plugin)  # raises when a pruned file was needed
    for service in ("s3", "logs", "secretsmanager"):
        boto3.client(service, region_name="us-east-1")
    if "sqlalchemy" in plugins:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "warm.db"
            with sqlite3.connect(db) as conn:
                conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
            pipeline = Pipeline.create(
                {
                    "pipeline_name": "image-warm-up",
                    "source": {
                        "type": "sqlalchemy",
                        "config": {"platform": "sqlite", "connect_uri": f"sqlite:///{db}"},
                    },
                    "sink": {"type": "file", "config": {"filename": str(Path(tmp) / "out.json")}},
                }
            )
            pipeline.run()
            pipeline.raise_from_status()
            assert "customers" in (Path(tmp) / "out.json").read_text()
    prefix = str(site) + "/"
    files = (getattr(module, "__file__", None) or "" for module in list(sys.modules.values()))
    return sorted({name for name in files if name.startswith(prefix)})


def compile_imported(files: list[str]) -> int:
    written = 0
    for name in files:
        if name.endswith(".py"):
            cfile = importlib.util.cache_from_source(name)
            py_compile.compile(
                name, cfile=cfile, doraise=True, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
            )
            written += Path(cfile).stat().st_size
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--plugins", default="", help="the image's DATAHUB_PLUGINS (comma-separated)")
    args = parser.parse_args(argv)
    site: Path = args.site.resolve()
    plugins = [p.strip() for p in args.plugins.split(",") if p.strip()]
    mb = 1e6
    start = _tree_size(site)
    print(f"site-packages: {start / mb:.1f} MB", flush=True)
    print(f"pruned: {prune(site) / mb:.1f} MB", flush=True)
    print(f"identical libraries made symlinks: {dedupe_shared_libraries(site) / mb:.1f} MB", flush=True)
    freed, restored = strip_shared_objects(site)
    print(f"stripped: {freed / mb:.1f} MB (kept unstripped, would not load: {restored or 'none'})", flush=True)
    imported = warm_up(site, plugins)
    written = compile_imported(imported)
    print(f"bytecode for {len(imported)} imported modules: {written / mb:.1f} MB", flush=True)
    print(f"site-packages now: {_tree_size(site) / mb:.1f} MB (was {start / mb:.1f} MB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
