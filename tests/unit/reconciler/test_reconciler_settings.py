"""The reconciler's settings: validated at cold start, defaults that fit the template."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from reconciler.settings import ReconcilerSettings


def test_settings_defaults_fit_the_template(monkeypatch):
    monkeypatch.setenv("ECS_CLUSTER", "arn:aws:ecs:us-east-1:123456789012:cluster/datahub-remote-executor")
    monkeypatch.setenv("DATAHUB_GMS_URL", "https://datahub.example.com/gms/")

    settings = ReconcilerSettings()

    assert settings.cluster_name == "datahub-remote-executor"
    assert settings.datahub_gms_url == "https://datahub.example.com/gms"
    assert settings.log_stream_for("abc") == "runs/runner/abc"
    assert (settings.report_grace_seconds, settings.log_tail_lines, settings.reconciler_queue_url) == (10, 50, None)


def test_settings_reject_a_datahub_cloud_url_without_gms_suffix():
    with pytest.raises(ValidationError, match="/gms"):
        ReconcilerSettings(ecs_cluster="c", datahub_gms_url="https://acme.acryl.io")


def test_settings_reconciler_needs_gms_the_backstop_does_not(monkeypatch):
    from backstop.settings import BackstopSettings

    for name in ("DATAHUB_GMS_URL", "DATAHUB_GMS_TOKEN_SECRET_ARN"):
        monkeypatch.delenv(name, raising=False)

    with pytest.raises(ValidationError, match="datahub_gms_url"):
        ReconcilerSettings(ecs_cluster="c")
    assert BackstopSettings(ecs_cluster="c").backstop_grace_seconds == 900


def test_settings_report_grace_is_at_most_what_sqs_can_delay():
    with pytest.raises(ValidationError, match="less than or equal to 900"):
        ReconcilerSettings(ecs_cluster="c", datahub_gms_url="http://gms:8080", report_grace_seconds=901)
