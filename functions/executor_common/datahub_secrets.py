"""Secrets stored in DataHub itself (Settings -> Secrets), read as DataHub's own executor reads them.

A recipe's `${NAME}` is looked up per name: in Secrets Manager first (the stack's `SecretArns`,
then `<SecretNamePrefix>NAME`), then in DataHub's secret store, unless the stack turned that store
off. Who does what, so that a value from DataHub never enters a task override, an environment,
a log or a report:

- the dispatcher resolves what it can in Secrets Manager (ARNs only, attached through the task
  definition) and lists the remaining names in the run spec (`RunSpec.datahub_secret_names`);
  it never asks DataHub for a value. It cannot tell "in DataHub" from "in neither store" without
  reading the value, so when DataHub's store is on, "found in neither" is the runner's to report;
  when it is off, the dispatcher fails the run at once, as before.
- the runner asks GMS for those names with GraphQL `getSecretValues` and its own token (the query
  `datahub.secret.datahub_secrets_client.DataHubSecretsClient` sends, as `DataHubGraph` minifies
  it), registers every value with the masker, and hands them to `datahub ingest` in the stdin
  envelope's `__secrets__` only.

GMS answers only for names that exist (others are omitted) and only to a token whose owner has
the Manage Secrets privilege (GetSecretValuesResolver); both cases are named in the FAILURE.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from executor_common.errors import GmsError, PermanentError

if TYPE_CHECKING:
    from executor_common.gms import GmsClient

#: Read by the dispatcher and the runner (template.yaml: parameter `DataHubSecretStore`).
ENV_DATAHUB_SECRET_STORE = "DATAHUB_SECRET_STORE_ENABLED"

#: `DataHubSecretsClient.get_secret_values`'s query, as `DataHubGraph.execute_graphql` sends it (minified).
GET_SECRET_VALUES_QUERY = (
    "query getSecretValues($input: GetSecretValuesInput!) { getSecretValues(input: $input) { name value } }"
)
#: A FAILURE names at most this many missing secrets (then counts the rest).
MAX_LISTED_MISSING = 50
DATAHUB_STORE_PLACE = "DataHub's secret store (Settings -> Secrets)"


def secrets_manager_place(name: str, prefix: str | None) -> str:
    """Where the dispatcher looked for `name` in Secrets Manager, in words."""
    named = f"no secret named {(prefix or '') + name!r}" if prefix is not None else "no secret under the name prefix"
    return f"not in the stack's SecretArns and {named} in Secrets Manager"


def fetch_secret_values(gms: GmsClient, names: Iterable[str]) -> dict[str, str]:
    """NAME -> value for the names DataHub holds (a name it lacks, or holds empty, is absent).

    PermanentError when GMS refuses (the token's owner lacks Manage Secrets, GraphQL errors) or is
    unreachable after the client's retries: the run cannot get its secrets, and a FAILURE says why.
    The message never quotes GMS's answer, which would carry the values.
    """
    wanted = sorted({name for name in names if name})
    if not wanted:
        return {}
    try:
        body = gms.execute_graphql(GET_SECRET_VALUES_QUERY, {"input": {"secrets": wanted}})
    except GmsError as exc:
        raise PermanentError(f"Could not read secrets from {DATAHUB_STORE_PLACE}: {exc}") from None
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        raise PermanentError(
            f"{DATAHUB_STORE_PLACE} refused to give this executor the recipe's secrets: {_error_text(errors)}. "
            "The executor's DataHub token must belong to a user with the 'Manage Secrets' privilege, or "
            "store the secrets in Secrets Manager instead."
        )
    data = body.get("data") if isinstance(body, dict) else None
    entries = data.get("getSecretValues") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise PermanentError(f"{DATAHUB_STORE_PLACE} gave an answer without getSecretValues")
    values: dict[str, str] = {}
    for entry in entries:
        value = entry.get("value") if isinstance(entry, dict) else None
        if isinstance(value, str) and value and entry.get("name") in wanted:  # never an empty substitution
            values[entry["name"]] = value
    return values


def neither_store_error(missing: Iterable[str], prefix: str | None) -> PermanentError:
    """The FAILURE for names found in no store, naming both places looked in."""
    names = sorted(set(missing))
    lines = [
        f"- ${{{name}}}: {secrets_manager_place(name, prefix)}, and not in {DATAHUB_STORE_PLACE}"
        for name in names[:MAX_LISTED_MISSING]
    ]
    if len(names) > MAX_LISTED_MISSING:
        lines.append(f"- and {len(names) - MAX_LISTED_MISSING} more")
    return PermanentError(
        "The recipe references secrets found in neither secret store:\n"
        + "\n".join(lines)
        + "\nCreate each one in Secrets Manager"
        + (f" with the name prefix {prefix!r}" if prefix else "")
        + " or on DataHub's Settings -> Secrets page, and run again."
    )


def _error_text(errors: Any) -> str:
    """GraphQL error messages only (never `data`), bounded."""
    if isinstance(errors, list):
        messages = [str(e.get("message", "")) for e in errors if isinstance(e, dict)]
        text = "; ".join(m for m in messages if m) or "GraphQL error"
    else:
        text = "GraphQL error"
    return text[:300]
