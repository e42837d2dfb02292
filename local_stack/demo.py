"""`make demo`: four runs through the whole local stack, each ending as expected, or exit 1.

1. SUCCESS: ingest a small SQLite database whose path the recipe takes from a Secrets Manager
   secret (`${DEMO_DB_PATH}`), so the secret really is resolved and injected.
2. CANCELLED: the same source while another session holds an exclusive lock on the database
   (a long-running batch job, say), so the ingestion waits on it; a KILL signal then cancels it.
3. FAILURE: a recipe that references a secret nobody created; the failure names it (and both
   places it looked: Secrets Manager and DataHub's secret store).
4. SUCCESS: a recipe as DataHub's UI form writes it, whose password is a secret stored in DataHub
   itself (Settings -> Secrets): the runner reads it with GraphQL `getSecretValues`. SQLite has no
   passwords, so the database sits in a folder named by the password: a wrong or missing value
   cannot open it.

Every status change seen in the GMS stand-in is printed, with a heartbeat while nothing changes.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from executor_common.runspec import TAG_EXECUTION_REQUEST
from executor_common.status import TERMINAL_STATUSES

from local_stack.commands import create_sqlite_db, kill_command, new_execution_urn, run_command, sqlite_recipe
from local_stack.stack import LocalStack

SECRET_PREFIX = "datahub-executor/"
DB_SECRET = "DEMO_DB_PATH"
MISSING_SECRET = "DEMO_WAREHOUSE_PASSWORD"
#: Held in DataHub's own secret store (the stand-in's `getSecretValues`), not in Secrets Manager.
DATAHUB_SECRET = "DEMO_VAULT_PASSWORD"
DATAHUB_SECRET_VALUE = "demo-vault-Pa55-41c7e2"
HEARTBEAT_SECONDS = 3.0
RUN_TIMEOUT_SECONDS = 90.0
REPORT_TAIL_LINES = 12
TERMINAL = tuple(sorted(TERMINAL_STATUSES))


@dataclass
class ScenarioResult:
    name: str
    expected: str
    status: str | None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == self.expected and not self.detail


def watch(
    stack: LocalStack,
    urn: str,
    *,
    until: tuple[str, ...] = TERMINAL,
    timeout: float = RUN_TIMEOUT_SECONDS,
    out: TextIO = sys.stdout,
    label: str = "",
    skip_seen: bool = False,
) -> dict[str, Any] | None:
    """Print every status written for `urn` (and a heartbeat), until one of `until`; returns the last result."""
    assert stack.gms is not None
    started = time.monotonic()
    last_print = started
    result: dict[str, Any] | None = None
    # `skip_seen`: a second watch of the same run prints only what is new.
    seen = len(stack.gms.history(urn)) if skip_seen else 0
    while time.monotonic() - started < timeout:
        history = stack.gms.history(urn)
        for entry in history[seen:]:
            elapsed = time.monotonic() - started
            print(f"  [{elapsed:5.1f}s] {label}status -> {entry.get('status')}{_progress(entry)}", file=out, flush=True)
            last_print = time.monotonic()
        seen = len(history)
        result = history[-1] if history else None
        if result is not None and result.get("status") in until:
            return result
        if time.monotonic() - last_print >= HEARTBEAT_SECONDS:
            current = result.get("status") if result else "waiting for the dispatcher"
            print(f"  [{time.monotonic() - started:5.1f}s] {label}... still {current}", file=out, flush=True)
            last_print = time.monotonic()
        time.sleep(0.1)
    return result


def _progress(entry: dict[str, Any]) -> str:
    lines = [line for line in (entry.get("report") or "").splitlines() if line.strip()]
    return f"  ({lines[-1].strip()[:100]})" if lines and entry.get("status") == "RUNNING" else ""


def report_tail(result: dict[str, Any] | None, lines: int = REPORT_TAIL_LINES) -> str:
    text = (result or {}).get("report") or "(no report)"
    return "\n".join("      " + line for line in text.rstrip().splitlines()[-lines:])


@contextlib.contextmanager
def exclusive_lock(db_path: Path) -> Iterator[None]:
    """Hold an exclusive transaction on the database (readers wait for it), as a long batch job would."""
    connection = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        connection.execute("ROLLBACK")
        connection.close()


def run_success(stack: LocalStack, db_path: Path, out: TextIO) -> ScenarioResult:
    urn = new_execution_urn("demo-success")
    print(f"\n1) RUN_INGEST of the SQLite source, path from secret {SECRET_PREFIX}{DB_SECRET}\n   {urn}", file=out)
    stack.send(run_command(urn, sqlite_recipe("${" + DB_SECRET + "}", pipeline_name="demo-success")))
    result = watch(stack, urn, out=out)
    return ScenarioResult("success", "SUCCESS", (result or {}).get("status"), _final(result, out))


def run_cancel(stack: LocalStack, db_path: Path, out: TextIO) -> ScenarioResult:
    urn = new_execution_urn("demo-cancel")
    print(f"\n2) RUN_INGEST while a batch job locks the database, then Cancel\n   {urn}", file=out)
    recipe = sqlite_recipe(
        "${" + DB_SECRET + "}", pipeline_name="demo-cancel", options={"connect_args": {"timeout": 600}}
    )
    with exclusive_lock(db_path):
        stack.send(run_command(urn, recipe))
        running = watch(stack, urn, until=("RUNNING", *TERMINAL), out=out)
        if running is None or running.get("status") != "RUNNING":
            return ScenarioResult("cancel", "CANCELLED", (running or {}).get("status"), "never reached RUNNING")
        last_line = _wait_for_ingestion_to_start(stack, urn, out)
        print(f"   the ingestion is midway, waiting on the locked database; its log ends: {last_line[:90]}", file=out)
        print("   sending the KILL signal (the UI's Cancel button)", file=out, flush=True)
        stack.send(kill_command(urn))
        result = watch(stack, urn, out=out, skip_seen=True)
    return ScenarioResult("cancel", "CANCELLED", (result or {}).get("status"), _final(result, out))


def _wait_for_ingestion_to_start(stack: LocalStack, urn: str, out: TextIO, timeout: float = 30.0) -> str:
    """Cancel midway: once `datahub ingest` itself runs (its first line reached this run's task log).

    Returns the log's last line.
    """
    assert stack.agent is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for task in stack.describe_tasks(stack.tasks()):
            if {"key": TAG_EXECUTION_REQUEST, "value": urn} not in task.get("tags", []):
                continue
            log = stack.agent.log_path(task["taskArn"])
            text = log.read_text(errors="replace") if log is not None and log.exists() else ""
            if "datahub.cli.ingest_cli" in text:
                return text.strip().splitlines()[-1].strip()
        time.sleep(0.2)
    print("   (the ingestion printed nothing yet; cancelling anyway)", file=out)
    return ""


def run_unknown_secret(stack: LocalStack, out: TextIO) -> ScenarioResult:
    urn = new_execution_urn("demo-missing-secret")
    print(f"\n3) RUN_INGEST whose recipe references ${{{MISSING_SECRET}}}, which does not exist\n   {urn}", file=out)
    recipe = sqlite_recipe("${" + DB_SECRET + "}", pipeline_name="demo-missing-secret")
    recipe["source"]["config"]["password"] = "${" + MISSING_SECRET + "}"
    stack.send(run_command(urn, recipe))
    result = watch(stack, urn, out=out)
    detail = _final(result, out)
    if result is not None and MISSING_SECRET not in (result.get("report") or ""):
        detail = detail or f"the report does not name {MISSING_SECRET}"
    return ScenarioResult("unknown secret", "FAILURE", (result or {}).get("status"), detail)


def vault_folder(base: Path, password: str) -> Path:
    """Where the fourth scenario's database lives: only a run that knows the password finds it."""
    return base / f"vault-{password}"


def run_datahub_secret(stack: LocalStack, base: Path, out: TextIO) -> ScenarioResult:
    urn = new_execution_urn("demo-datahub-secret")
    print(
        f"\n4) RUN_INGEST whose password ${{{DATAHUB_SECRET}}} is stored in DataHub (Settings -> Secrets), "
        f"not in Secrets Manager\n   {urn}",
        file=out,
    )
    database = vault_folder(base, "${" + DATAHUB_SECRET + "}") / "warehouse.db"
    stack.send(run_command(urn, sqlite_recipe(str(database), pipeline_name="demo-datahub-secret")))
    result = watch(stack, urn, out=out)
    detail = _final(result, out)
    if result is not None and "from DataHub's secret store" not in (result.get("report") or ""):
        detail = detail or "the report does not say the secret came from DataHub's secret store"
    return ScenarioResult("DataHub-stored secret", "SUCCESS", (result or {}).get("status"), detail)


def _final(result: dict[str, Any] | None, out: TextIO) -> str:
    if result is None:
        print("   no status at all in DataHub", file=out)
        return "no status"
    print(f"   final status: {result.get('status')}  (duration {result.get('durationMs', '?')} ms)", file=out)
    print("   report tail:", file=out)
    print(report_tail(result), file=out, flush=True)
    return ""


def create_private_source(stack: LocalStack, out: TextIO) -> Path:
    """The SQLite "private source" of the first scenarios; its path is the secret `DEMO_DB_PATH`."""
    assert stack.aws is not None
    db_path = create_sqlite_db(stack.state_dir / "private-source" / "shop.db")
    stack.aws.client("secretsmanager").create_secret(Name=SECRET_PREFIX + DB_SECRET, SecretString=str(db_path))
    print(
        f"  private source: a SQLite database (customers, orders, table_0); its path is secret "
        f"{SECRET_PREFIX}{DB_SECRET} (never printed: it is masked wherever the run writes it)",
        file=out,
        flush=True,
    )
    return db_path


def quiet_stack(out: TextIO, **options: Any) -> LocalStack:
    """Handlers log only errors here: the demo prints the statuses DataHub receives instead. `options`: more
    LocalStack arguments (Fargate's room, Spot interruptions: `python -m local_stack demo --help`)."""
    return LocalStack(
        log_level="ERROR",
        on_progress=lambda step: print(f"  {step}", file=out, flush=True),
        datahub_secrets={DATAHUB_SECRET: DATAHUB_SECRET_VALUE},
        **options,
    )


def main(out: TextIO = sys.stdout, stack_factory: Callable[[TextIO], LocalStack] = quiet_stack) -> int:
    started = time.monotonic()
    print("Starting the local stack (moto + template.yaml, GMS stand-in, pollers, ECS agent)...", file=out, flush=True)
    stack = stack_factory(out).start()
    try:
        assert stack.gms is not None and stack.aws is not None
        print(f"  up in {time.monotonic() - started:.1f}s; DataHub stand-in page: {stack.gms.page_url}", file=out)
        db_path = create_private_source(stack, out)
        vault = create_sqlite_db(vault_folder(db_path.parent, DATAHUB_SECRET_VALUE) / "warehouse.db")
        print(
            f"  a second database sits in a folder named by the password {DATAHUB_SECRET}, which only DataHub's "
            "secret store holds (the stand-in serves getSecretValues)",
            file=out,
            flush=True,
        )
        outcomes = [
            run_success(stack, db_path, out),
            run_cancel(stack, db_path, out),
            run_unknown_secret(stack, out),
            run_datahub_secret(stack, vault.parent.parent, out),
        ]
    finally:
        stack.stop()
    print("\nSummary:", file=out)
    for outcome in outcomes:
        mark = "ok  " if outcome.ok else "FAIL"
        extra = f" ({outcome.detail})" if outcome.detail else ""
        print(f"  {mark} {outcome.name}: {outcome.status} (expected {outcome.expected}){extra}", file=out)
    print(f"  total {time.monotonic() - started:.1f}s", file=out, flush=True)
    return 0 if all(o.ok for o in outcomes) else 1
