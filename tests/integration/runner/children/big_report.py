"""Fake child: writes a structured report larger than GMS should take (argv[1] is the report file):
a summary, counts, warnings with long context lists, and one huge list."""

import json
import sys

report = {
    "cli": {"cli_version": "1.7.0.17"},
    "source": {
        "type": "postgres",
        "report": {
            "events_produced": 40_123,
            "tables_scanned": [f"shop.public.table_{i:07d}" for i in range(40_000)],
            "warnings": [
                {"title": "Permission denied", "message": "cannot read", "context": [f"t{i}" for i in range(5_000)]}
            ],
            "failures": [],
        },
    },
    "sink": {"type": "datahub-rest", "report": {"total_records_written": 40_123}},
}
with open(sys.argv[1], "w") as fp:
    json.dump(report, fp)
print("Pipeline finished successfully", flush=True)
