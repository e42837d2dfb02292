"""The summary's image rows: which podman tag is which image, and the plugin sets they are labelled with."""

from __future__ import annotations

import pytest

from bench.summary import image_kind, plugin_sets


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("localhost/datahub-executor-runner:1.7.0.17", "full"),
        ("localhost/datahub-executor-runner:1.7.0.17-small", "small"),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/datahub-executor-runner:1.8.0-small", "small"),
        ("localhost/datahub-executor-runner:1.7.0.17-sql", None),
        ("localhost/datahub-executor-runner:before", None),
        ("localhost/datahub-executor-runner:latest", None),
    ],
)
def test_image_kind_reads_the_tag_the_build_gives_each_plugin_set(name, kind):
    assert image_kind(name) == kind


def test_plugin_sets_small_is_a_subset_of_the_dockerfile_default_without_the_pandas_plugins():
    sets = plugin_sets()

    assert set(sets["small"]) < set(sets["full"])
    assert {"snowflake", "redshift", "s3"} <= set(sets["full"]) - set(sets["small"])
