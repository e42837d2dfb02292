"""docs/parameters.md documents every parameter, and maps every parameter of DataHub's own template."""

from __future__ import annotations

import pytest
from sam_template import REPO_ROOT, load_template

DOC = (REPO_ROOT / "docs" / "parameters.md").read_text()
DATAHUB_TEMPLATE_PARAMETERS = [
    "DataHubBaseUrl",
    "DataHubAccessToken",
    "ExistingDataHubAccessTokenSecretArn",
    "ExecutorId",
    "OptionalSecrets",
    "OptionalEnvVars",
    "ImageTag",
    "TaskCpu",
    "TaskMemory",
    "TaskEphemeralStorageSizeInGiB",
    "VPCID",
    "SubnetID",
]


def table_first_cells() -> set[str]:
    return {line.split("|")[1].strip().strip("`").split("`")[0] for line in DOC.splitlines() if line.startswith("| `")}


@pytest.mark.parametrize("name", sorted(load_template()["Parameters"]))
def test_parameters_doc_has_a_row_for_every_template_parameter(name: str) -> None:
    assert name in table_first_cells()


@pytest.mark.parametrize("name", DATAHUB_TEMPLATE_PARAMETERS)
def test_parameters_doc_maps_every_datahub_remote_executor_parameter(name: str) -> None:
    assert name in table_first_cells()


@pytest.mark.parametrize("name", sorted(load_template()["Outputs"]))
def test_parameters_doc_lists_every_output(name: str) -> None:
    assert f"`{name}`" in DOC
