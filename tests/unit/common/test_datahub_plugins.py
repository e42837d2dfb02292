"""The plugins a run needs (executor_common/datahub_plugins.py), as the runner and the dispatcher both read them."""

from __future__ import annotations

from executor_common.datahub_plugins import run_plugins

EXTRAS = frozenset({"postgres", "snowflake", "s3", "datahub-kafka"})


def test_run_plugins_source_type_first_then_extra_plugins_once_each():
    assert run_plugins("postgres", ["s3", " s3", "postgres", ""], EXTRAS) == ["postgres", "s3"]


def test_run_plugins_a_source_type_that_is_not_an_extra_needs_only_the_extra_plugins():
    assert run_plugins("file", ["datahub-kafka"], EXTRAS) == ["datahub-kafka"]
    assert run_plugins("my_company.sources.Custom", [], EXTRAS) == []


def test_run_plugins_without_the_extras_list_counts_every_source_type_as_a_plugin():
    # the dispatcher has no acryl-datahub: `file` must never look baked by an image that lists other plugins
    assert run_plugins("file", []) == ["file"]
    assert run_plugins("snowflake", ["s3"]) == ["snowflake", "s3"]
