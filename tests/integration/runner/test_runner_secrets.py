"""Canary secrets: whatever the child prints, no secret value reaches stdout, GMS, or a file we leave."""

from __future__ import annotations

import base64
import html
import json
from urllib.parse import quote

from runner_harness import TOKEN, child, make_spec

CANARY = "c4n4ry-Pa55w0rd-7f3e"
MULTILINE = "-----BEGIN KEY-----\nm4sk-line-one-9d2c\nm4sk-line-two-41aa\n-----END KEY-----"
QUOTED = 'qu0te"and\\backslash-8e1b'
ENCODED_CANARY = [
    quote(CANARY),
    quote(QUOTED, safe="").lower(),
    html.escape(QUOTED),
    base64.b64encode(CANARY.encode()).decode(),
    CANARY.encode().hex(),
    json.dumps(json.dumps(QUOTED))[1:-1],
]
FORBIDDEN = [
    CANARY,
    "m4sk-line-one-9d2c",
    "m4sk-line-two-41aa",
    QUOTED,
    json.dumps(QUOTED)[1:-1],
    TOKEN,
    *ENCODED_CANARY,
]


def test_runner_masks_secret_values_everywhere(runner, gms_standin, tmp_path):
    # GIVEN a recipe referencing three secrets and a child that prints them in every form it can
    recipe = {
        "source": {
            "type": "file",
            "config": {"path": "/dev/null", "password": "${DB_PASSWORD}", "key": "${PRIVATE_KEY}", "q": "${QUOTED}"},
        },
    }
    spec = make_spec(
        "canary-1",
        recipe,
        secret_names=["DB_PASSWORD", "PRIVATE_KEY", "QUOTED"],
        extra_env_vars={"SHOP_REGION": "eu-west-1", "DATAHUB_GMS_TOKEN": "x", "runner_child_command": "x"},
    )
    extra = {
        "DB_PASSWORD": CANARY,
        "PRIVATE_KEY": MULTILINE,
        "QUOTED": QUOTED,
        "AWS_SECRET_ACCESS_KEY": "runner-only-aws-key-5521",
    }

    # WHEN the run completes
    result = runner.run(spec, extra, child=child("leaky.py", "{report_file}"))

    # THEN the child did print them (so masking was exercised) ...
    assert result.returncode == 0, result.stderr
    assert "password for DB_PASSWORD is ********" in result.stdout
    # ... and no form of any secret or the GMS token is in stdout, stderr, any GMS request, or any file left
    sent_to_gms = json.dumps([r["body"] for r in gms_standin.requests])
    files = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    for value in FORBIDDEN:
        assert value not in result.stdout
        assert value not in result.stderr
        assert value not in sent_to_gms
        assert value not in files
    # AND the child's environment is clean: the spec's extra env vars only, nothing of the runner's, no token
    env_line = next(line for line in result.stdout.splitlines() if line.startswith("my environment:"))
    child_env = json.loads(env_line.removeprefix("my environment:"))
    assert child_env["SHOP_REGION"] == "eu-west-1"
    assert child_env["DATAHUB_GMS_URL"] == runner.gms_url
    assert child_env["DATAHUB_TELEMETRY_ENABLED"] == "false"
    assert not {k for k in child_env if k.startswith(("AWS_", "ECS_", "RUNNER_", "EXECUTOR_"))}
    assert not {"DB_PASSWORD", "PRIVATE_KEY", "QUOTED", "DATAHUB_GMS_TOKEN"} & set(child_env)
    assert not {k for k in child_env if k.upper().startswith("RUNNER_")}
    # AND the recipe given to the child carries run_id = the execution id
    assert '"run_id": "canary-1"' in result.stdout
