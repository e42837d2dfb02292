"""Source lease keys (issue 14 item 2): bounded whatever the URN, and never outside `sources/`."""

from __future__ import annotations

import pytest
from executor_common.aws.source_lease import lease_id, lease_key


@pytest.mark.parametrize(
    "urn",
    ["urn:li:dataHubIngestionSource:b5e3a8e4", "urn:li:dataHubIngestionSource:" + "é" * 50_000, ""],
)
def test_lease_key_is_72_bytes_whatever_the_source_urn(urn: str) -> None:
    key = lease_key(lease_id(urn))

    assert key.startswith("sources/")
    assert len(key.encode("utf-8")) == 72  # S3 keys stop at 1,024 bytes


def test_distinct_sources_have_distinct_leases() -> None:
    assert lease_id("urn:li:dataHubIngestionSource:a") != lease_id("urn:li:dataHubIngestionSource:b")


@pytest.mark.parametrize("forged", ["../slots/0", "0" * 63, "0" * 64 + "/x", "A" * 64, "sources/" + "0" * 64])
def test_a_task_env_naming_anything_but_a_lease_id_is_refused(forged: str) -> None:
    with pytest.raises(ValueError):
        lease_key(forged)
