"""Which runner image a run pulls (dispatcher/images.py): the small one only when it bakes all the run needs."""

from __future__ import annotations

import pytest
from dispatcher.images import base_task_definition
from dispatcher.validation import validate_run
from dispatcher_unit_helpers import BASE_ARN, make_run_command, make_settings

SMALL_ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/datahub-executor-runner-small:3"
SMALL_SET = "datahub-rest,postgres,mysql,glue,sqlalchemy"


@pytest.mark.parametrize(
    ("source_type", "extra_pip_plugins", "task", "expected"),
    [
        ("postgres", None, "RUN_INGEST", SMALL_ARN),
        ("sqlalchemy", None, "RUN_INGEST", SMALL_ARN),  # SQLite through the sqlalchemy source
        ("mysql", ["glue"], "RUN_INGEST", SMALL_ARN),
        ("postgres", None, "TEST_CONNECTION", SMALL_ARN),
        ("snowflake", None, "RUN_INGEST", BASE_ARN),
        ("snowflake", None, "TEST_CONNECTION", BASE_ARN),
        ("redshift", None, "RUN_INGEST", BASE_ARN),
        ("s3", None, "RUN_INGEST", BASE_ARN),
        ("postgres", ["s3"], "RUN_INGEST", BASE_ARN),  # an extra plugin the small image lacks
        ("file", None, "RUN_INGEST", BASE_ARN),  # not a plugin of the small set: the full image, as before
        ("my_company.sources.Custom", None, "RUN_INGEST", BASE_ARN),
    ],
)
def test_base_task_definition_small_image_only_when_it_bakes_every_plugin_of_the_run(
    source_type, extra_pip_plugins, task, expected
):
    settings = make_settings(small_task_definition_arn=SMALL_ARN, small_image_plugins=SMALL_SET)
    command = make_run_command({"source": {"type": source_type}}, task=task, extra_pip_plugins=extra_pip_plugins)

    assert base_task_definition(validate_run(command, settings), settings) == expected


def test_base_task_definition_without_a_small_image_is_always_the_runner_image():
    settings = make_settings()
    run = validate_run(make_run_command({"source": {"type": "postgres"}}), settings)

    assert settings.small_task_definition_arn == "" and settings.small_image_plugins == []
    assert base_task_definition(run, settings) == BASE_ARN


def test_settings_small_image_without_its_plugins_fails_at_cold_start():
    with pytest.raises(ValueError, match="SMALL_IMAGE_PLUGINS is empty"):
        make_settings(small_task_definition_arn=SMALL_ARN, small_image_plugins="")
