"""pytest plugin (tests/conftest.py loads it): every moto-backed test meets the rules AWS enforces.

`local_stack.aws_fidelity` is the one place those rules live; the local stack's moto server installs
the same patches, so a request the tests accept is one the local stack and AWS accept too.
"""

from __future__ import annotations

import pytest

from local_stack import aws_fidelity


@pytest.fixture(scope="session", autouse=True)
def aws_fidelity_rules() -> None:
    """moto, process-wide: botocore's model validation server-side, ECS limits, S3 key bytes, clientToken."""
    aws_fidelity.install()
