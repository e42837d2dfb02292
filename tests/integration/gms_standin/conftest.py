"""Fixtures for the GMS stand-in's own tests."""

from __future__ import annotations

import uuid

import pytest
from executor_common.gms import GmsClient

from local_stack.gms_standin import GmsStandIn


@pytest.fixture
def execution_urn() -> str:
    return f"urn:li:dataHubExecutionRequest:{uuid.uuid4()}"


@pytest.fixture
def gms_client(gms_standin: GmsStandIn) -> GmsClient:
    """Our own client, with no session-level retries so each fault is visible to the caller."""
    return GmsClient(gms_standin.url, gms_standin.token, timeout=5.0, session_retries=0)
