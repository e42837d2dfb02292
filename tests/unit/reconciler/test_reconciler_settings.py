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
    assert (settings.backstop_grace_seconds, settings.log_tail_lines) == (900, 50)


def test_settings_reject_a_datahub_cloud_url_without_gms_suffix():
    with pytest.raises(ValidationError, match="/gms"):
        ReconcilerSettings(ecs_cluster="c", datahub_gms_url="https://acme.acryl.io")


def test_settings_reconciler_needs_gms_the_backstop_does_not():
    settings = ReconcilerSettings(ecs_cluster="c")

    with pytest.raises(ValueError, match="DATAHUB_GMS_URL"):
        settings.require_reconciler_settings()
