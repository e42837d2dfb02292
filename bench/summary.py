"""Issue 13's figures in one table: each measured figure beside its reference and its goal.

`python -m bench` prints it after the benchmarks that ran (a figure whose benchmark did not run says so);
each benchmark's `main()` returns the figures this table reads. The runner image is read from podman when
an image is built here (`../shared/tools/build-runner-image.sh`), never built by the benchmarks.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
#: The runner image as `../shared/tools/build-runner-image.sh` tags it (any version).
IMAGE_REFERENCE = "*datahub-executor-runner*"
#: The issue's starting point for the image: 838 MB with the same baked plugins.
IMAGE_BEFORE_MB = 838
NOT_RUN = "(not run)"
#: The benchmarks whose figures the table reads.
SUMMARISED = {"bench_cold_start", "bench_package", "bench_dispatcher", "bench_runner", "bench_throughput"}

Row = tuple[str, str, str, str, str]


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else "OK" if ok else "MISSED"


def _cold_start_rows(figures: dict[str, Any] | None) -> list[Row]:
    names = ("dispatcher", "reconciler", "backstop")
    if not figures:
        return [(f"cold start, {name}", NOT_RUN, "minimal powertools SQS handler", "<= 2x", "") for name in names]
    reference = f"minimal powertools SQS handler, {figures['reference_ms']:.0f} ms"
    rows = []
    for name in names:
        ratio = figures["ratios"][f"{name}.handler"]
        cpu = figures["cpu_ratios"][f"{name}.handler"]
        measured = f"{ratio:.2f}x ({figures['ms'][f'{name}.handler']:.0f} ms; CPU {cpu:.2f}x)"
        rows.append((f"cold start, {name}", measured, reference, f"<= {figures['goal']:.0f}x", _verdict(ratio <= 2)))
    return rows


def _package_row(figures: dict[str, Any] | None) -> Row:
    if not figures:
        return ("Lambda package, unzipped", NOT_RUN, "13 MB at the issue's start", "<= 10 MiB", "")
    size = figures["unzipped_bytes"]
    return (
        "Lambda package, unzipped",
        f"{size / MIB:.2f} MiB",
        "13 MB at the issue's start",
        "<= 10 MiB",
        _verdict(size <= 10 * MIB),
    )


def _ecs_row(figures: dict[str, Any] | None) -> Row:
    label, reference, goal = "ECS calls per launched run (steady)", "2 (ListTasks + RunTask) at the start", "1"
    if not figures:
        return (label, NOT_RUN, reference, goal, "")
    calls = figures["ecs_calls_per_launch"]
    return (label, f"{calls} ({', '.join(figures['ecs_actions'])})", reference, goal, _verdict(calls == 1))


def _runner_rows(figures: dict[str, Any] | None) -> list[Row]:
    labels = ("runner overhead vs bare `datahub ingest`", "runner vs DataHub's executor (wall)")
    if not figures:
        return [
            (labels[0], NOT_RUN, "bare `datahub ingest`, same recipe", "<= +5 %", ""),
            (labels[1], NOT_RUN, "datahub.executor subprocess task", "faster", ""),
        ]
    bare, runner, theirs = figures["bare_s"], figures["runner_s"], figures["datahub_executor_s"]
    overhead = 100 * (runner - bare) / bare
    return [
        (
            labels[0],
            f"{overhead:+.1f} % ({runner:.2f} s)",
            f"bare datahub ingest, {bare:.2f} s",
            "<= +5 %",
            _verdict(overhead <= 5),
        ),
        (
            labels[1],
            f"{runner:.2f} s vs {theirs:.2f} s ({100 * (theirs - bare) / bare:+.0f} % over bare)",
            "datahub.executor subprocess task",
            "faster",
            _verdict(runner < theirs),
        ),
    ]


def runner_images() -> dict[str, tuple[str, float]]:
    """The newest runner image podman holds here of each kind, as {kind: (name, size in MB)}.

    Kinds by tag, as docs/runner-image.md builds them: "full" for `:<version>` (RunnerImage, the default
    plugin set), "small" for `:<version>-small` (SmallRunnerImage); other tags (`before`, `-sql`) are not rows.
    """
    if shutil.which("podman") is None:
        return {}
    done = subprocess.run(
        ["podman", "images", "--format", "json", "--filter", f"reference={IMAGE_REFERENCE}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    images = json.loads(done.stdout or "[]") if done.returncode == 0 else []
    found: dict[str, tuple[str, float, int]] = {}
    for image in images:
        for name in image.get("Names") or []:
            kind = image_kind(name)
            created = int(image.get("Created", 0))
            if kind is not None and created >= found.get(kind, ("", 0.0, -1))[2]:
                found[kind] = (name, float(image["Size"]) / 1e6, created)
    return {kind: (name, megabytes) for kind, (name, megabytes, _) in found.items()}


def image_kind(name: str) -> str | None:
    """ "full" for `…:1.7.0.17`, "small" for `…:1.7.0.17-small`, None for any other tag."""
    tag = name.rsplit(":", 1)[-1]
    version, _, suffix = tag.partition("-")
    if not version[:1].isdigit() or suffix not in ("", "small"):
        return None
    return suffix or "full"


def plugin_sets() -> dict[str, list[str]]:
    """{"full": runner/Dockerfile's default DATAHUB_PLUGINS, "small": template.yaml's SmallRunnerImagePlugins}."""
    import re

    from local_stack.cfn import load_template

    dockerfile = (REPO_ROOT / "runner" / "Dockerfile").read_text()
    full = re.search(r'^ARG DATAHUB_PLUGINS="([^"]+)"', dockerfile, re.MULTILINE)
    small = str(load_template(REPO_ROOT / "template.yaml")["Parameters"]["SmallRunnerImagePlugins"]["Default"])
    return {"full": full.group(1).split(",") if full else [], "small": small.split(",")}


def _image_rows() -> list[Row]:
    """The image a run pulls: RunnerImage for the default plugin set, SmallRunnerImage for a run of its set."""
    reference = f"{IMAGE_BEFORE_MB} MB at the issue's start, same plugins"
    found = runner_images()
    labels = {
        "full": "runner image, default set (RunnerImage)",
        "small": "runner image, small-set runs (SmallRunnerImage)",
    }
    sets = plugin_sets()
    only_full = [plugin for plugin in sets["full"] if plugin not in sets["small"]]
    baked = {"full": f"{', '.join(only_full)} runs", "small": ", ".join(sets["small"])}
    goals = {"full": f"< {IMAGE_BEFORE_MB} MB, same plugins", "small": f"<= {IMAGE_BEFORE_MB // 2} MB"}
    rows: list[Row] = []
    for kind, label in labels.items():
        if kind not in found:
            rows.append((label, f"not measured here (no {kind} runner image in podman)", reference, goals[kind], ""))
            continue
        name, megabytes = found[kind]
        ok = megabytes <= IMAGE_BEFORE_MB / 2 if kind == "small" else megabytes < IMAGE_BEFORE_MB
        share = f"{100 * megabytes / IMAGE_BEFORE_MB:.0f} %"
        measured = f"{megabytes:.0f} MB, {share} ({name.rsplit('/', 1)[-1]}: {baked[kind]})"
        rows.append((label, measured, reference, goals[kind], _verdict(ok)))
    return rows


def _throughput_row(figures: dict[str, Any] | None) -> Row:
    label, goal = "dispatch throughput from a backlog", ">= 20 runs/s capacity, paced 18-20"
    if not figures:
        return (label, NOT_RUN, "Fargate's RunTask rate (20/s)", goal, "")
    handler_ms = figures["handler CPU ms per record"]
    moto_ms = figures["moto ms per record (dispatcher's calls)"]
    from bench.bench_throughput import goal_met

    measured = (
        f"capacity {figures['sustained runs/s']} runs/s, paced {figures['paced runs/s']} runs/s, of "
        f"{figures['messages']} (handler CPU {handler_ms} ms/record, moto {moto_ms} ms/record)"
    )
    verdict = _verdict(goal_met(figures["sustained runs/s"], figures["paced runs/s"]))
    return (label, measured, "Fargate's RunTask rate (20/s)", goal, verdict)


def rows(results: dict[str, Any]) -> list[Row]:
    return [
        *_cold_start_rows(results.get("bench_cold_start")),
        _package_row(results.get("bench_package")),
        _ecs_row(results.get("bench_dispatcher")),
        *_runner_rows(results.get("bench_runner")),
        *_image_rows(),
        _throughput_row(results.get("bench_throughput")),
    ]


def print_summary(results: dict[str, Any]) -> None:
    table = [("figure", "measured", "reference", "goal", ""), *rows(results)]
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    print("\n=== issue 13: figures, references and goals ===")
    for index, row in enumerate(table):
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print("  " + "  ".join("-" * width for width in widths))
