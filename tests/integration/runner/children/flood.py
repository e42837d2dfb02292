"""Fake child: writes N lines (default 1,000,000) as fast as it can, then exits 0."""

import sys

count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
out = sys.stdout
line = "INFO  {:>8} emitted workunit urn:li:dataset:(urn:li:dataPlatform:sqlite,shop.main.orders,PROD)\n"
for i in range(count):
    out.write(line.format(i))
out.write("flood done\n")
