"""Deciding what a run must install at start (pure), and what is already in the image."""

from __future__ import annotations

import pytest
from executor_runner.plugins import InstallError, InstallPlan, plan_install, plugin_available, validate_requirements

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


def test_plan_install_extra_plugins_join_the_source_in_one_extras_requirement():
    # GIVEN the UI's "Extra DataHub plugins" that the image lacks
    plan = plan_install(
        "postgres",
        None,
        [],
        bundled="1.7.0.17",
        extras=EXTRAS,
        is_available=lambda p: p != "snowflake",
        extra_plugins=["snowflake"],
    )

    # THEN one requirement with every extra, as DataHub's executor builds it
    assert plan.requirements == ("acryl-datahub[postgres,snowflake]==1.7.0.17",)
    assert "'snowflake'" in plan.reasons[0]


def test_plan_install_extra_plugins_already_in_the_image_need_nothing():
    assert not _plan_with(extra_plugins=["snowflake"]).needed


def test_plan_install_unknown_or_malformed_plugin_fails_naming_it():
    with pytest.raises(InstallError, match="acme-nonexistent") as raised:
        _plan_with(extra_plugins=["acme-nonexistent", "x;rm -rf /"])

    assert "'x;rm -rf /'" in raised.value.reason


def test_plan_install_v_prefixed_version_pins_without_the_v():
    assert _plan(version="v1.6.0").requirements == ("acryl-datahub[postgres]==1.6.0",)


@pytest.mark.parametrize(
    "entry", ["--extra-index-url=http://x/simple", "-r /etc/passwd", "acme @ http://x/a.whl", "acme>"]
)
def test_validate_requirements_refuses_everything_but_specifiers(entry):
    with pytest.raises(InstallError, match="requirement specifiers only"):
        validate_requirements(["requests<3", entry])


def test_validate_requirements_accepts_specifiers_with_extras_and_markers():
    entries = ["requests<3", "acme-plugin[extra]==1.2", 'tomli; python_version < "3.11"']

    assert validate_requirements(entries) == entries


def _plan_with(**kwargs) -> InstallPlan:
    return plan_install("postgres", None, [], bundled="1.7.0.17", extras=EXTRAS, is_available=lambda _: True, **kwargs)
