"""Runner benchmarks: overhead around a real ingestion, relay throughput, and GMS traffic.

1. Wall time and peak RSS of the runner around a real SQLite `datahub ingest` vs the same
   `datahub ingest` alone, in interleaved pairs (goals: <= 5 % time, <= 60 MB extra RSS).
2. A child writing 1 M lines: relayed by the runner with masking vs the child writing to
   /dev/null (goal: <= 20 % slowdown; the runner's memory stays bounded).
3. Bytes sent to GMS per minute of a chatty run vs the OSS executor's design (the full
   2000-line tail every 2 s) (goal: <= 1 %).
4. The same SQLite ingestion three ways, interleaved: bare `datahub ingest`, the runner, and DataHub's
   own executor (`datahub.executor`: a ReportingExecutor running SubProcessIngestionTask, version
   "native", bench/datahub_executor_run.py) against the same stand-in: wall time, peak RSS of the
   process tree and bytes sent to GMS (request bodies, Content-Length) in one table.

    python -m bench runner     (or: python -m bench.bench_runner)
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from executor_common.runspec import RunSpec

from local_stack.gms_standin import GmsStandIn

REPO_ROOT = Path(__file__).resolve().parent.parent
CHILDREN = REPO_ROOT / "tests" / "integration" / "runner" / "children"
#: The test entry point: the real runner with a fake child instead of `datahub ingest`.
FAKE_CHILD_RUNNER = REPO_ROOT / "tests" / "integration" / "runner" / "fake_child_runner.py"


def _with_child(child: list[str]) -> list[str]:
    return [sys.executable, str(FAKE_CHILD_RUNNER), json.dumps(child)]


PAIRS = int(os.environ.get("BENCH_RUNNER_PAIRS", "5"))
FLOOD_LINES = 1_000_000
CHATTY_SECONDS = float(os.environ.get("BENCH_RUNNER_CHATTY_SECONDS", "30"))
CHATTY_RATE = 200
#: The OSS executor (datahub.executor SubProcessIngestionTask): 2000-line tail, up to 90 % of 4 MB, every 2 s.
OSS_TAIL_LINES = 2000
OSS_TAIL_BYTES = int(0.9 * 2**22)
OSS_HEARTBEAT_SECONDS = 2


class TreeRss:
    """Peak summed RSS (MiB) of a process and its descendants, sampled from /proc every 20 ms."""

    def __init__(self, pid: int) -> None:
        self.root = pid
        self.peak_tree_mib = 0.0
        self.peak_root_mib = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._done.wait(0.02):
            pids = self._tree(self.root)
            sizes = {pid: _rss_mib(pid) for pid in pids}
            self.peak_tree_mib = max(self.peak_tree_mib, sum(sizes.values()))
            self.peak_root_mib = max(self.peak_root_mib, sizes.get(self.root, 0.0))

    @staticmethod
    def _tree(pid: int) -> list[int]:
        found, todo = [], [pid]
        while todo:
            current = todo.pop()
            found.append(current)
            try:
                todo += [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
            except OSError:
                continue
        return found

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Timed:
    seconds: float
    cpu_seconds: float  # user + sys of the process and everything it waited for
    rss: TreeRss
    returncode: int


def _timed(argv: list[str], env: dict[str, str], stdin: str | None = None, stdout: Any = subprocess.DEVNULL) -> Timed:
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, env=env, stdin=subprocess.PIPE if stdin else None, stdout=stdout, stderr=subprocess.DEVNULL, text=True
    )
    sampler = TreeRss(process.pid)
    if stdin:
        assert process.stdin is not None
        process.stdin.write(stdin)
        process.stdin.close()
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    sampler.stop()
    process.returncode = os.waitstatus_to_exitcode(status)
    return Timed(elapsed, usage.ru_utime + usage.ru_stime, sampler, process.returncode)


def _sqlite_db(folder: Path) -> Path:
    path = folder / "bench.db"
    with sqlite3.connect(path) as db:
        for t in range(20):
            db.execute(f"CREATE TABLE table_{t} (id INTEGER PRIMARY KEY, name TEXT, amount REAL, created TEXT)")
    return path


def _runner_env(gms: GmsStandIn, folder: Path, spec: RunSpec, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "LANG": "C.UTF-8",
        "DATAHUB_GMS_URL": gms.url,
        "DATAHUB_GMS_TOKEN": gms.token,
        "EXECUTOR_RUN_SPEC": spec.model_dump_json(),
        "RUNNER_WORK_DIR": str(folder / "runs"),
        "PYTHONPATH": os.pathsep.join(str(REPO_ROOT / p) for p in ("functions", "runner")),
        **extra,
    }


def _spec(execution_id: str, recipe: dict[str, Any], **fields: Any) -> RunSpec:
    return RunSpec(
        execution_request_urn=f"urn:li:dataHubExecutionRequest:{execution_id}",
        execution_id=execution_id,
        task="RUN_INGEST",
        recipe=json.dumps(recipe),
        **fields,
    )


def bench_overhead(gms: GmsStandIn, folder: Path) -> None:
    db = _sqlite_db(folder)
    recipe = {"source": {"type": "sqlalchemy", "config": {"platform": "sqlite", "connect_uri": f"sqlite:///{db}"}}}
    datahub = str(Path(sys.executable).parent / "datahub")
    bare_env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(folder),
        "DATAHUB_GMS_URL": gms.url,
        "DATAHUB_GMS_TOKEN": gms.token,
        "DATAHUB_TELEMETRY_ENABLED": "false",
    }
    bare_times, runner_times, bare_rss, runner_rss, runner_own = [], [], [], [], []
    bare_cpu: list[float] = []
    runner_cpu: list[float] = []
    warm_up = [datahub, "ingest", "run", "-c", "-", "--report-to", str(folder / "warm.json"), "--no-spinner"]
    _timed(warm_up, bare_env, stdin=json.dumps(recipe))  # first run compiles .pyc files: not a fair pair
    for i in range(PAIRS):
        spec = _spec(f"bench-overhead-{i}", recipe)
        bare_argv = [datahub, "ingest", "run", "-c", "-", "--report-to", str(folder / "bare.json"), "--no-spinner"]
        runs = [("bare", None), ("runner", spec)] if i % 2 == 0 else [("runner", spec), ("bare", None)]
        for kind, run_spec in runs:
            if kind == "bare":
                run = _timed(bare_argv, bare_env, stdin=json.dumps(recipe))
                bare_times.append(run.seconds)
                bare_cpu.append(run.cpu_seconds)
                bare_rss.append(run.rss.peak_tree_mib)
            else:
                run = _timed([sys.executable, "-m", "executor_runner"], _runner_env(gms, folder, run_spec))
                runner_times.append(run.seconds)
                runner_cpu.append(run.cpu_seconds)
                runner_rss.append(run.rss.peak_tree_mib)
                runner_own.append(run.rss.peak_root_mib)
            assert run.returncode == 0, f"{kind} run failed with exit code {run.returncode}"
    bare, wrapped = statistics.median(bare_times), statistics.median(runner_times)
    print(f"[1] real SQLite ingestion, {PAIRS} interleaved pairs (median)")
    print(f"    bare datahub ingest : {bare:6.2f} s   peak RSS (tree) {statistics.median(bare_rss):6.1f} MiB")
    print(f"    runner + datahub    : {wrapped:6.2f} s   peak RSS (tree) {statistics.median(runner_rss):6.1f} MiB")
    pairs = "  ".join(f"{b:.2f}/{r:.2f}" for b, r in zip(bare_times, runner_times, strict=True))
    print(f"    pairs bare/runner s : {pairs}")
    paired = statistics.median((r - b) / b for b, r in zip(bare_times, runner_times, strict=True))
    overhead = 100 * (wrapped - bare) / bare
    print(f"    wall overhead : {overhead:+6.1f} % (medians), {100 * paired:+.1f} % (median of pairs); goal <= 5 %")
    bare_c, runner_c = statistics.median(bare_cpu), statistics.median(runner_cpu)
    cpu_overhead = 100 * (runner_c - bare_c) / bare_c
    print(f"    CPU time (user+sys) : bare {bare_c:.2f} s, runner + child {runner_c:.2f} s ({cpu_overhead:+.1f} %)")
    print(
        f"    extra peak RSS      : {statistics.median(runner_rss) - statistics.median(bare_rss):+6.1f} MiB "
        f"(runner process alone: {statistics.median(runner_own):.1f} MiB)  (goal <= 60 MB)"
    )


def bench_flood(gms: GmsStandIn, folder: Path) -> None:
    flood = [sys.executable, str(CHILDREN / "flood.py"), str(FLOOD_LINES)]
    spec = _spec("bench-flood", {"source": {"type": "file", "config": {"path": "${FLOOD_SECRET}"}}})
    spec = spec.model_copy(update={"secret_names": ["FLOOD_SECRET"]})
    env = _runner_env(gms, folder, spec, FLOOD_SECRET="shop.main.orders")
    direct, relayed, peaks = [], [], []
    for _ in range(3):
        with open(os.devnull, "w") as devnull:
            direct.append(_timed(flood, dict(os.environ), stdout=devnull).seconds)
        with open(os.devnull, "w") as devnull:
            run = _timed(_with_child(flood), env, stdout=devnull)
        assert run.returncode == 0
        relayed.append(run.seconds)
        peaks.append(run.rss.peak_root_mib)
    instant = [sys.executable, "-c", "pass"]
    fixed = statistics.median(_timed(_with_child(instant), env).seconds for _ in range(3))
    fixed -= statistics.median(_timed(instant, dict(os.environ)).seconds for _ in range(3))
    pumped, pump_cpu, alone = [], [], []
    for _ in range(5):  # the relay alone: the runner's own pump + masker + tail, in this process
        with open(os.devnull, "w") as devnull:
            alone.append(_timed(flood, dict(os.environ), stdout=devnull).seconds)
        seconds, cpu = _pump_flood(flood, "shop.main.orders")
        pumped.append(seconds)
        pump_cpu.append(cpu)
    d, r = statistics.median(direct), statistics.median(relayed)
    a, p = statistics.median(alone), statistics.median(pumped)
    print(f"[2] child writing {FLOOD_LINES:,} lines, ~98 MB (a registered secret occurs in every line)")
    print(f"    child > /dev/null   : {d:6.2f} s   (median of 3)")
    print(f"    through the runner  : {r:6.2f} s   (end to end: start-up, kickoff, final report; no run bucket)")
    print(f"    runner fixed cost   : {fixed:6.2f} s   (same runner around an instant child)")
    print(f"    slowdown end to end : {100 * (r - d) / d:+6.1f} %")
    print(f"    relay alone         : {p:6.2f} s vs {a:.2f} s to /dev/null (median of 5 alternating runs)")
    print(f"    slowdown of relay   : {100 * (p - a) / a:+6.1f} %  (goal <= 20 %)")
    print(f"    relay CPU           : {statistics.median(pump_cpu):6.2f} s for ~98 MB")
    print(f"    runner peak RSS     : {max(peaks):6.1f} MiB (bounded tail: 1000 lines)")


def _pump_flood(argv: list[str], secret: str) -> tuple[float, float]:
    """Wall and CPU seconds of the runner's relay (pump, masker, bounded tail) draining `argv`."""
    from executor_common.masking import SecretMasker
    from executor_runner.relay import LogRelay, pump
    from executor_runner.tail import LogTail

    with open(os.devnull, "wb") as devnull:
        relay = LogRelay(SecretMasker([secret]), LogTail(1000), devnull)
        started, cpu = time.perf_counter(), time.process_time()
        process = subprocess.Popen(argv, stdout=subprocess.PIPE)
        assert process.stdout is not None
        pump(process.stdout, relay)
        process.wait()
    return time.perf_counter() - started, time.process_time() - cpu


def bench_gms_bytes(gms: GmsStandIn, folder: Path) -> None:
    chatty = [sys.executable, str(CHILDREN / "chatty.py"), str(CHATTY_SECONDS), str(CHATTY_RATE)]
    spec = _spec("bench-chatty", {"source": {"type": "file", "config": {}}})
    env = _runner_env(gms, folder, spec)
    with open(os.devnull, "w") as devnull:
        run = _timed(_with_child(chatty), env, stdout=devnull)
    assert run.returncode == 0
    seconds = run.seconds
    posts = [
        r
        for r in gms.requests_to("/aspects", "ingestProposal")
        if (r.get("body") or {}).get("proposal", {}).get("entityUrn") == spec.execution_request_urn
    ]
    running = [p for p in posts if json.loads(p["body"]["proposal"]["aspect"]["value"])["status"] == "RUNNING"]
    sent = sum(len(json.dumps(p["body"]).encode()) for p in running)
    oss = _oss_progress_bytes(spec.execution_request_urn, CHATTY_SECONDS, CHATTY_RATE)
    per_minute = sent * 60 / CHATTY_SECONDS
    oss_per_minute = oss * 60 / CHATTY_SECONDS
    print(f"[3] chatty run: {CHATTY_RATE} lines/s for {CHATTY_SECONDS:.0f} s ({seconds:.1f} s wall)")
    print(f"    runner progress     : {len(running)} writes, {per_minute / 1024:8.1f} KiB/min")
    print(
        f"    OSS design (2 s)    : {int(CHATTY_SECONDS / OSS_HEARTBEAT_SECONDS)} writes, "
        f"{oss_per_minute / 1024:8.1f} KiB/min"
    )
    print(f"    ratio               : {100 * per_minute / oss_per_minute:6.2f} %  (goal <= 1 %)")


def _oss_progress_bytes(urn: str, seconds: float, rate: int) -> int:
    """What DataHub's OSS executor would send for the same output: the whole tail every heartbeat."""
    line = (
        "[2026-11-26 08:00:00,000] INFO     {{datahub.ingestion.run.pipeline:{n}}} - Processing workunit "
        "urn:li:dataset:(urn:li:dataPlatform:postgres,shop.public.table_{n},PROD) schemaMetadata"
    )
    tail: deque[str] = deque(maxlen=OSS_TAIL_LINES)
    total, n = 0, 0
    for tick in range(1, int(seconds / OSS_HEARTBEAT_SECONDS) + 1):
        while n < tick * OSS_HEARTBEAT_SECONDS * rate:
            n += 1
            tail.append(line.format(n=n) + "\n")
        report = "".join(tail)[-OSS_TAIL_BYTES:]
        aspect = {"status": "RUNNING", "report": report, "startTimeMs": 1764140000000}
        proposal = {
            "proposal": {
                "entityType": "dataHubExecutionRequest",
                "entityUrn": urn,
                "changeType": "UPSERT",
                "aspectName": "dataHubExecutionRequestResult",
                "aspect": {"value": json.dumps(aspect), "contentType": "application/json"},
            },
            "async": "false",
        }
        total += len(json.dumps(proposal).encode())
    return total


def _gms_bytes(gms: GmsStandIn, since: int) -> int:
    """Request bytes the stand-in received after its `since`-th recorded request."""
    return sum(int(r["headers"].get("Content-Length") or 0) for r in list(gms.requests)[since:])


def bench_vs_datahub_executor(gms: GmsStandIn, folder: Path) -> dict[str, float]:
    """Prints the three-way table; returns the median wall seconds of each way (bench/summary.py)."""
    folder = folder / "vs-datahub-executor"  # its own database and work folders beside [1]'s
    folder.mkdir()
    db = _sqlite_db(folder)
    recipe = {"source": {"type": "sqlalchemy", "config": {"platform": "sqlite", "connect_uri": f"sqlite:///{db}"}}}
    datahub = str(Path(sys.executable).parent / "datahub")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(folder),
        "DATAHUB_GMS_URL": gms.url,
        "DATAHUB_GMS_TOKEN": gms.token,
        "DATAHUB_TELEMETRY_ENABLED": "false",
    }
    bare_argv = [datahub, "ingest", "run", "-c", "-", "--report-to", str(folder / "bare.json"), "--no-spinner"]
    figures: dict[str, dict[str, list[float]]] = {}
    for i in range(PAIRS):
        spec = _spec(f"bench-vs-{i}", recipe)
        ways = [
            ("bare datahub ingest", bare_argv, env),
            ("this runner", [sys.executable, "-m", "executor_runner"], _runner_env(gms, folder, spec)),
            (
                "DataHub executor",
                [sys.executable, str(REPO_ROOT / "bench" / "datahub_executor_run.py"), f"dh-{i}", str(folder / "dh")],
                env,
            ),
        ]
        for label, argv, run_env in ways[i % 3 :] + ways[: i % 3]:  # rotate the order: no way always goes first
            since = len(gms.requests)
            run = _timed(argv, run_env, stdin=None if label == "this runner" else json.dumps(recipe))
            assert run.returncode == 0, f"{label} failed with exit code {run.returncode}"
            row = figures.setdefault(label, {"wall": [], "rss": [], "bytes": []})
            row["wall"].append(run.seconds)
            row["rss"].append(run.rss.peak_tree_mib)
            row["bytes"].append(_gms_bytes(gms, since))
    print(f"[4] the same SQLite ingestion three ways, {PAIRS} rotated rounds (medians), same GMS stand-in")
    print(f"    {'':22} {'wall s':>8} {'peak RSS MiB':>13} {'bytes to GMS':>13}")
    for label, row in figures.items():
        wall, rss, sent = (statistics.median(row[k]) for k in ("wall", "rss", "bytes"))
        print(f"    {label:22} {wall:8.2f} {rss:13.1f} {sent:13.0f}")
    bare = statistics.median(figures["bare datahub ingest"]["wall"])
    for label in ("this runner", "DataHub executor"):
        wall = statistics.median(figures[label]["wall"])
        print(f"    {label} start overhead over bare: {100 * (wall - bare) / bare:+.1f} % (goal for the runner <= 5 %)")
    medians = {label: statistics.median(row["wall"]) for label, row in figures.items()}
    return {
        "bare_s": medians["bare datahub ingest"],
        "runner_s": medians["this runner"],
        "datahub_executor_s": medians["DataHub executor"],
    }


def main() -> dict[str, float]:
    """All four sections; BENCH_QUICK runs [4] (the table's figures) alone. Returns [4]'s medians."""
    with tempfile.TemporaryDirectory(prefix="bench-runner-") as tmp, GmsStandIn() as gms:
        folder = Path(tmp)
        figures = bench_vs_datahub_executor(gms, folder)
        if not os.environ.get("BENCH_QUICK"):
            bench_overhead(gms, folder)
            bench_flood(gms, folder)
            bench_gms_bytes(gms, folder)
    return figures


if __name__ == "__main__":
    main()
