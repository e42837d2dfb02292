"""`${NAME}` -> ARN: configured pairs first, then Secrets Manager by prefix + NAME, in bulk; found ARNs cached."""

from __future__ import annotations

import pytest
from dispatcher.secret_resolution import SecretResolver
from executor_common.errors import PermanentError, RetryableError


class FakeSecretsManager:
    """Plays the adapter: one `find_secret_arns` call is one ListSecrets listing."""

    def __init__(self, arns: dict[str, str], error: Exception | None = None) -> None:
        self.arns = arns
        self.error = error
        self.listings: list[list[str]] = []

    @property
    def lookups(self) -> list[str]:
        return [name for listing in self.listings for name in listing]

    def find_secret_arns(self, secret_names, common_prefix: str = "") -> dict[str, str]:
        names = list(secret_names)
        assert all(name.startswith(common_prefix) for name in names)
        self.listings.append(names)
        if self.error:
            raise self.error
        return {name: self.arns[name] for name in names if name in self.arns}


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


@pytest.mark.parametrize("error", [RetryableError("throttled"), PermanentError("denied")])
def test_resolve_lookup_errors_from_the_adapter_pass_through(error):
    with pytest.raises(type(error)):
        SecretResolver(FakeSecretsManager({}, error), {}, "datahub-executor/").resolve(["PG"])


def test_resolve_thousands_of_names_is_one_listing_and_a_bounded_failure():
    # GIVEN a recipe referencing 3,000 distinct secrets, two of which exist
    sm = FakeSecretsManager({"dh/N7": "arn:7", "dh/N42": "arn:42"})
    names = [f"N{i}" for i in range(3000)]

    with pytest.raises(PermanentError) as caught:
        SecretResolver(sm, {}, "dh/").resolve(names)

    # THEN Secrets Manager was asked once, not 3,000 times, and the FAILURE stays readable
    assert len(sm.listings) == 1 and len(sm.listings[0]) == 3000
    assert "- and 2948 more" in caught.value.reason
    assert caught.value.reason.count("\n- ${") == 50


def test_resolve_only_unknown_names_are_listed_and_found_ones_are_cached_together():
    sm = FakeSecretsManager({"dh/A": "arn:a", "dh/B": "arn:b"})
    resolver = SecretResolver(sm, {"C": "arn:c"}, "dh/")
    assert resolver.resolve(["A", "B", "C"]) == {"A": "arn:a", "B": "arn:b", "C": "arn:c"}
    assert resolver.resolve(["A", "B"]) == {"A": "arn:a", "B": "arn:b"}
    assert sm.listings == [["dh/A", "dh/B"]]


def test_split_with_datahub_store_on_leaves_names_secrets_manager_lacks_to_the_runner():
    # GIVEN one name configured, one under the prefix, two in neither (maybe in DataHub's store)
    sm = FakeSecretsManager({"dh/PG": "arn:pg"})
    resolver = SecretResolver(sm, {"SF": "arn:sf"}, "dh/")

    arns, for_datahub = resolver.split(["SF", "PG", "UI_B", "UI_A", "UI_A"], datahub_store=True)

    # THEN Secrets Manager wins per name, the rest are listed (sorted, once), and nothing is raised
    assert arns == {"PG": "arn:pg", "SF": "arn:sf"}
    assert for_datahub == ["UI_A", "UI_B"]


def test_split_with_datahub_store_off_fails_a_missing_name_saying_the_store_is_off():
    resolver = SecretResolver(FakeSecretsManager({"dh/PG": "arn:pg"}), {}, "dh/")

    with pytest.raises(PermanentError) as refused:
        resolver.split(["PG", "UI_A"], datahub_store=False)

    assert "${UI_A}" in refused.value.reason
    assert "'dh/UI_A'" in refused.value.reason
    assert "DataHubSecretStore" in refused.value.reason
