"""Fake child: writes a structured report larger than GMS should take (argv[1] is the report file)."""

import json
import sys

with open(sys.argv[1], "w") as fp:
    json.dump({"source": {"report": {"tables_scanned": [f"shop.public.table_{i:07d}" for i in range(40_000)]}}}, fp)
print("Pipeline finished successfully", flush=True)
