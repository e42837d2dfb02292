"""`executor_common.datahub_secrets.fetch_secret_values` against the GMS stand-in, as GMS answers getSecretValues."""

from __future__ import annotations

import pytest
from executor_common.datahub_secrets import fetch_secret_values
from executor_common.errors import PermanentError
from executor_common.gms import GmsClient

CANARY = "c4n4ry-fetch-0d3b"


def test_fetch_secret_values_returns_only_names_datahub_holds(gms_standin):
    gms_standin.secrets.update({"A": CANARY, "EMPTY": "", "OTHER": "x"})
    client = GmsClient(gms_standin.url, gms_standin.token, session_retries=0)

    values = fetch_secret_values(client, ["A", "EMPTY", "NOPE", "A"])

    assert values == {"A": CANARY}  # an empty value is never a substitution; unknown names are absent


def test_fetch_secret_values_without_manage_secrets_is_a_permanent_error_without_values(gms_standin):
    gms_standin.secrets["A"] = CANARY
    client = GmsClient(gms_standin.url, gms_standin.unprivileged_token, session_retries=0)

    with pytest.raises(PermanentError) as refused:
        fetch_secret_values(client, ["A"])

    assert "Manage Secrets" in refused.value.reason
    assert "Unauthorized" in refused.value.reason
    assert CANARY not in refused.value.reason


def test_fetch_secret_values_asks_nothing_for_no_names(gms_standin):
    client = GmsClient(gms_standin.url, gms_standin.token, session_retries=0)

    assert fetch_secret_values(client, []) == {}
    assert gms_standin.requests_to("/api/graphql") == []


def test_fetch_secret_values_unreachable_gms_is_a_permanent_error_naming_the_store():
    client = GmsClient("http://127.0.0.1:9", "t", session_retries=0, timeout=1)

    with pytest.raises(PermanentError, match="DataHub's secret store"):
        fetch_secret_values(client, ["A"])
