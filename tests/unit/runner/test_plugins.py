"""Deciding what a run must install at start (pure), and what is already in the image."""

from __future__ import annotations

import pytest
from executor_runner.plugins import InstallPlan, plan_install, plugin_available

EXTRAS = frozenset({"postgres", "snowflake", "sqlalchemy"})


def _plan(source="postgres", version=None, extras_pip=(), available=True) -> InstallPlan:
    return plan_install(
        source, version, list(extras_pip), bundled="1.7.0.17", extras=EXTRAS, is_available=lambda _: available
    )


@pytest.mark.parametrize("version", [None, "", "bundled", "native", "1.7.0.17"])
def test_plan_install_bundled_version_and_plugin_present_needs_nothing(version):
    assert not _plan(version=version).needed


def test_plan_install_other_version_pins_cli_with_plugin_extra():
    plan = _plan(version="1.6.0.5")

    assert plan.requirements == ("acryl-datahub[postgres]==1.6.0.5",)
    assert "1.6.0.5" in plan.reasons[0]


def test_plan_install_latest_is_unpinned():
    assert _plan(version="latest").requirements == ("acryl-datahub[postgres]",)


def test_plan_install_plugin_missing_installs_bundled_version_of_it():
    assert _plan(available=False).requirements == ("acryl-datahub[postgres]==1.7.0.17",)


def test_plan_install_extra_pip_requirements_are_added():
    plan = _plan(extras_pip=["acme-plugin==1.0", "requests<3"])

    assert plan.requirements == ("acme-plugin==1.0", "requests<3")


def test_plan_install_custom_source_class_installs_only_extras():
    plan = _plan(source="acme.sources.AcmeSource", version="1.6.0", extras_pip=["acme-sources==2.0"])

    assert plan.requirements == ("acryl-datahub==1.6.0", "acme-sources==2.0")


def test_plugin_available_sqlalchemy_is_in_the_test_image_and_custom_types_count_as_available():
    assert plugin_available("sqlalchemy")
    assert plugin_available("file")
    assert plugin_available("acme.sources.AcmeSource")
