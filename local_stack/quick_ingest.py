"""A quick stand-in for `datahub ingest run` (the local stack's fast container mode, for load tests only).

The real runner (`python -m executor_runner`) still runs for each task and does everything it does on
Fargate: reads its spec, writes RUNNING and the final status to DataHub, relays and masks the output,
uploads the run folder. Only its child, `datahub ingest run -c - --report-to FILE`, is replaced by this
script (given as RUNNER_DATAHUB_COMMAND): it reads the recipe envelope from stdin, prints a few lines,
waits `--seconds`, writes a small structured report and exits 0. Importing DataHub costs seconds of CPU
per run; this costs milliseconds, so a 2-core machine can carry hundreds of runs. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def _source_type(envelope: str) -> str:
    """The recipe's `source.type`, from the runner's envelope {"__recipe_yaml__": <recipe as JSON>, ...}."""
    try:
        recipe = json.loads(json.loads(envelope)["__recipe_yaml__"])
        return str(recipe["source"]["type"])
    except (ValueError, KeyError, TypeError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="quick-ingest")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--report-to", dest="report_to")
    parser.add_argument("words", nargs="*")  # `ingest run`, `-c -`
    parser.add_argument("-c", dest="config")
    parser.add_argument("--no-spinner", action="store_true")
    parser.add_argument("--test-source-connection", action="store_true")
    args = parser.parse_args(argv)
    source_type = _source_type(sys.stdin.read())
    print(f"[quick-ingest] Starting metadata ingestion (source {source_type}; sleeping {args.seconds:g} s)", flush=True)
    time.sleep(max(0.0, args.seconds))
    report = {
        "cli": {"command": "quick-ingest", "mode": "local stack fast container mode"},
        "source": {"type": source_type, "report": {"events_produced": 0, "failures": [], "warnings": []}},
        "sink": {"type": "none", "report": {"total_records_written": 0, "failures": []}},
    }
    if args.report_to:
        with open(args.report_to, "w", encoding="utf-8") as handle:
            json.dump(report, handle)
    print("[quick-ingest] Pipeline finished successfully; produced 0 events", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
