"""Fake child: prints LINES_PER_SECOND realistic log lines per second for SECONDS seconds."""

import sys
import time

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10
rate = int(sys.argv[2]) if len(sys.argv) > 2 else 200
line = (
    "[2026-11-26 08:00:00,000] INFO     {{datahub.ingestion.run.pipeline:{n}}} - Processing workunit "
    "urn:li:dataset:(urn:li:dataPlatform:postgres,shop.public.table_{n},PROD) schemaMetadata"
)
deadline = time.monotonic() + seconds
n = 0
while time.monotonic() < deadline:
    for _ in range(rate // 10):
        n += 1
        print(line.format(n=n))
    sys.stdout.flush()
    time.sleep(0.1)
