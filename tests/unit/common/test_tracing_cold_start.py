"""The X-Ray SDK is imported only when tracing is on; when it is on, the handlers trace as before."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

HANDLERS = ("dispatcher.handler", "reconciler.handler", "backstop.handler")
#: Heavy modules a handler's import must not load with tracing off (the first message pays for what it needs).
NOT_AT_INIT = ("aws_xray_sdk", "botocore.session", "boto3", "requests", "pydantic_settings")


def _import_in_fresh_interpreter(module: str, env: dict[str, str], check: str) -> subprocess.CompletedProcess[str]:
    code = f"import sys, {module} as h, {module.rsplit('.', 1)[0]}.observability as o\n{check}"
    base = {"PYTHONPATH": str(REPO_ROOT / "functions"), "PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1"}
    return subprocess.run([sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("module", HANDLERS)
def test_handler_import_with_tracing_disabled_loads_no_xray_sdk_nor_http_clients(module: str) -> None:
    # GIVEN Lambda's environment with POWERTOOLS_TRACE_DISABLED=true
    env = {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}
    check = f"loaded = [m for m in {NOT_AT_INIT!r} if m in sys.modules]\nassert not loaded, loaded\n"
    # WHEN the handler is imported THEN none of the heavy modules is
    done = _import_in_fresh_interpreter(module, env, check)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("module", HANDLERS)
def test_handler_import_with_tracing_enabled_uses_powertools_tracer(module: str) -> None:
    # GIVEN Lambda's environment with tracing on (the template's Tracing: Active)
    env = {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"}
    check = (
        "from aws_lambda_powertools import Tracer\n"
        "assert isinstance(o.tracer, Tracer) and not o.tracer.disabled, o.tracer\n"
        "assert 'aws_xray_sdk.core' in sys.modules\n"
        "assert h.lambda_handler.__wrapped__ is not None\n"
    )
    # WHEN the handler is imported THEN it is wrapped by an enabled powertools Tracer, as before
    done = _import_in_fresh_interpreter(module, env, check)
    assert done.returncode == 0, done.stderr


def test_disabled_tracer_decorators_return_the_function_itself() -> None:
    from executor_common.tracing import DisabledTracer

    tracer = DisabledTracer()

    def handler(event: object, context: object) -> str:
        return "ok"

    assert tracer.capture_lambda_handler(handler) is handler
    assert tracer.capture_method(capture_response=False)(handler) is handler
    assert tracer.capture_lambda_handler(capture_error=False)(handler)(None, None) == "ok"


def test_env_settings_read_the_environment_in_any_case_and_keyword_arguments_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from backstop.settings import BackstopSettings

    # GIVEN the cluster in the environment (upper case, as the template sets it) and a grace in lower case
    monkeypatch.setenv("ECS_CLUSTER", "from-env")
    monkeypatch.setenv("backstop_grace_seconds", "60")

    # WHEN the model is built with and without a keyword argument
    assert BackstopSettings().ecs_cluster == "from-env"
    assert BackstopSettings().backstop_grace_seconds == 60
    assert BackstopSettings(ecs_cluster="given").ecs_cluster == "given"


def test_env_settings_refuse_an_invalid_value_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from backstop.settings import BackstopSettings
    from pydantic import ValidationError

    monkeypatch.setenv("ECS_CLUSTER", "c")
    monkeypatch.setenv("BACKSTOP_GRACE_SECONDS", "-1")

    with pytest.raises(ValidationError, match="backstop_grace_seconds"):
        BackstopSettings()
