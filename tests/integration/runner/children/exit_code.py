"""Fake child: prints a line and exits with argv[1] (a failed ingestion)."""

import sys

print("Pipeline finished with at least 1 failure", flush=True)
sys.exit(int(sys.argv[1]))
