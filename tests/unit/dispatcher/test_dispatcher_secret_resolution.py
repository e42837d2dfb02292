"""`${NAME}` -> ARN: configured pairs first, then Secrets Manager by prefix + NAME; found ARNs cached with a TTL."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from dispatcher.secret_resolution import SecretResolver
from executor_common.errors import PermanentError, RetryableError


class FakeSecretsManager:
    def __init__(self, arns: dict[str, str], error: Exception | None = None) -> None:
        self.arns = arns
        self.error = error
        self.lookups: list[str] = []

    def find_secret_arn(self, secret_id: str) -> str | None:
        self.lookups.append(secret_id)
        if self.error:
            raise self.error
        return self.arns.get(secret_id)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_resolve_prefers_configured_pairs_then_prefix_lookup():
    sm = FakeSecretsManager({"dh/PG": "arn:pg"})
    resolver = SecretResolver(sm, {"SF": "arn:sf-configured"}, "dh/")
    assert resolver.resolve(["SF", "PG"]) == {"PG": "arn:pg", "SF": "arn:sf-configured"}
    assert sm.lookups == ["dh/PG"]


def test_resolve_caches_found_arns_until_the_ttl_expires():
    sm, clock = FakeSecretsManager({"dh/PG": "arn:pg"}), Clock()
    resolver = SecretResolver(sm, {}, "dh/", ttl_seconds=300, clock=clock)
    resolver.resolve(["PG"])
    clock.now += 299
    resolver.resolve(["PG"])
    assert sm.lookups == ["dh/PG"]
    clock.now += 2
    resolver.resolve(["PG"])
    assert sm.lookups == ["dh/PG", "dh/PG"]


def test_resolve_missing_secrets_are_all_named_with_where_it_looked_and_not_cached():
    sm = FakeSecretsManager({})
    resolver = SecretResolver(sm, {}, "datahub-executor/")
    with pytest.raises(PermanentError) as caught:
        resolver.resolve(["A_KEY", "B_KEY"])
    assert (
        "${A_KEY}: not in the stack's SECRET_ARNS and no secret named 'datahub-executor/A_KEY'" in caught.value.reason
    )
    assert "${B_KEY}" in caught.value.reason
    sm.arns["datahub-executor/A_KEY"] = "arn:a"
    sm.arns["datahub-executor/B_KEY"] = "arn:b"
    assert resolver.resolve(["A_KEY", "B_KEY"]) == {"A_KEY": "arn:a", "B_KEY": "arn:b"}


@pytest.mark.parametrize(
    ("code", "expected"),
    [("ThrottlingException", RetryableError), ("AccessDeniedException", PermanentError)],
)
def test_resolve_lookup_errors_are_classified(code, expected):
    error = ClientError({"Error": {"Code": code, "Message": "m"}}, "DescribeSecret")
    with pytest.raises(expected, match=f"datahub-executor/PG.*{code}"):
        SecretResolver(FakeSecretsManager({}, error), {}, "datahub-executor/").resolve(["PG"])
