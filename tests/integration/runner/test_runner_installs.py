"""Run-time installs, without the network: a failed install names the package; disabled installs fail clearly."""

from __future__ import annotations

import json

from runner_harness import child, make_spec

from tests.conftest import unused_local_port

INDEX_PASSWORD = "idx-pa55-0c1d"


def test_runner_failed_runtime_install_reports_failure_naming_the_package(runner, gms_standin):
    # GIVEN extra pip requirements and a package index nobody listens on
    spec = make_spec("install-fail-1", extra_pip_requirements=["acme-missing-plugin==9.9"])
    extra = {
        "RUNNER_PIP_INDEX_URL": f"http://user:{INDEX_PASSWORD}@127.0.0.1:{unused_local_port()}/simple",
        "UV_HTTP_RETRIES": "0",
        "PIP_RETRIES": "0",
    }

    result = runner.run(spec, extra, timeout=60, child=child("exit_code.py", "0"))

    # THEN FAILURE naming the package, with the installer's output in the report, and the child never ran
    assert result.returncode == 1
    final = gms_standin.result(spec.execution_request_urn)
    assert final["status"] == "FAILURE"
    first_line = final["report"].splitlines()[0]
    assert first_line.startswith("Run-time install failed") and "acme-missing-plugin==9.9" in first_line
    assert "Installing at run time" in final["report"]
    assert "Pipeline finished" not in result.stdout
    assert INDEX_PASSWORD not in result.stdout + result.stderr + json.dumps(final)


def test_runner_runtime_installs_disabled_fails_clearly(runner, gms_standin):
    spec = make_spec("install-off-1", version="1.6.0")
    extra = {
        "RUNNER_ALLOW_RUNTIME_INSTALLS": "false",
    }

    result = runner.run(spec, extra, timeout=60, child=child("exit_code.py", "0"))

    assert result.returncode == 1
    first_line = gms_standin.result(spec.execution_request_urn)["report"].splitlines()[0]
    assert "run-time installs are disabled" in first_line
    assert "acryl-datahub==1.6.0" in first_line


def test_runner_extra_pip_plugins_with_installs_disabled_fails_naming_the_extras(runner, gms_standin):
    # GIVEN the UI's "Extra DataHub plugins" asks for a plugin the image lacks, and run-time installs are off
    spec = make_spec("plugins-off-1", extra_pip_plugins=["snowflake"])

    result = runner.run(spec, {"RUNNER_ALLOW_RUNTIME_INSTALLS": "false"}, timeout=60, child=child("exit_code.py", "0"))

    # THEN FAILURE naming the extras requirement DataHub's executor would install
    assert result.returncode == 1
    first_line = gms_standin.result(spec.execution_request_urn)["report"].splitlines()[0]
    assert "run-time installs are disabled" in first_line
    assert "acryl-datahub[snowflake]==" in first_line
