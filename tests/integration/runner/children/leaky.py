"""Fake child: prints every secret of its stdin envelope (raw, JSON-escaped, line by line), its own
environment, and a structured report that quotes them; exits 0. The runner must mask all of it."""

import json
import os
import sys

envelope = json.loads(sys.stdin.read())
secrets = envelope["__secrets__"]
for name, value in secrets.items():
    print(f"password for {name} is {value}")
    print(json.dumps({"connection": {"password": value}}))
    for line in value.splitlines():
        print(f"line of {name}: {line}")
print("my environment:", json.dumps(dict(os.environ)), flush=True)
print("recipe:", envelope["__recipe_yaml__"])
with open(sys.argv[1], "w") as fp:
    json.dump({"source": {"report": {"leaked": list(secrets.values()), "env": dict(os.environ)}}}, fp)
