"""Fake child: prints every secret of its stdin envelope (raw, JSON-escaped, line by line, URL/HTML/base64/hex/
bytes-repr encoded, JSON escaped twice), its own
environment, and a structured report that quotes them; exits 0. The runner must mask all of it."""

import base64
import html
import json
import os
import sys
from urllib.parse import quote

envelope = json.loads(sys.stdin.read())
secrets = envelope["__secrets__"]
for name, value in secrets.items():
    print(f"password for {name} is {value}")
    print(json.dumps({"connection": {"password": value}}))
    for line in value.splitlines():
        print(f"line of {name}: {line}")
    data = value.encode()
    print("encoded:", quote(value), quote(value, safe="").lower(), repr(data), html.escape(value))
    print("encoded:", base64.b64encode(data).decode(), data.hex(), json.dumps(json.dumps(value)))
print("my environment:", json.dumps(dict(os.environ)), flush=True)
print("recipe:", envelope["__recipe_yaml__"])
with open(sys.argv[1], "w") as fp:
    json.dump({"source": {"report": {"leaked": list(secrets.values()), "env": dict(os.environ)}}}, fp)
