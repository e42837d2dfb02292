"""SQS fair queues: every command-queue message names its tenant, the ingestion source, as `MessageGroupId`.

Since 2025 a standard queue whose messages carry `MessageGroupId` is a *fair queue*: when one tenant
has a disproportionate share of the in-flight messages (a source's burst of scheduled runs), SQS
delivers the quiet tenants' messages first, so their dwell time stays low; nothing is dropped or
throttled, and the queue stays a standard one (no FIFO ordering, no per-group serialisation, delays
allowed). The forwarder, the dispatcher (a run sent back to wait or after throttling) and the
reconciler (a Spot re-run) all send with the group this module gives, so one source is one tenant
whichever sent the message.

The tenant is the run's ingestion source URN; a run without one (ad hoc CLI run, connection test)
and a cancel are their own tenant, keyed by the execution request URN. SQS takes at most 128
characters, alphanumeric and punctuation: a longer or otherwise unfit key keeps a readable head and
ends with a hash of the whole key, so two sources never share a group by accident.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from executor_common.contract import RunCommand, SignalCommand, parse_command, recover_execution_urn

#: SQS SendMessage: "The length of MessageGroupId is 128 characters. Valid values: alphanumeric characters
#: and punctuation (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~)."
MESSAGE_GROUP_ID_MAX = 128
_UNFIT = re.compile(r"[^A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]")
_HASH_CHARS = 32


def command_tenant(command: RunCommand | SignalCommand) -> str:
    """The run's ingestion source URN, else the execution request URN."""
    if isinstance(command, RunCommand) and command.aspect.source.ingestionSource:
        return command.aspect.source.ingestionSource
    return command.entityUrn


def tenant_of(body: str | bytes | dict[str, Any]) -> str | None:
    """`command_tenant` of a message body; its execution request URN when it does not parse; else None."""
    try:
        command = parse_command(body)
    except ValueError:  # pydantic's ValidationError too
        return recover_execution_urn(body)
    return command_tenant(command)


def group_id_for(tenant: str) -> str:
    """`tenant` as a valid MessageGroupId: itself when it fits, else a readable head plus a hash of it."""
    if tenant and len(tenant) <= MESSAGE_GROUP_ID_MAX and not _UNFIT.search(tenant):
        return tenant
    digest = hashlib.sha256(tenant.encode()).hexdigest()[:_HASH_CHARS]
    head = _UNFIT.sub("_", tenant)[: MESSAGE_GROUP_ID_MAX - _HASH_CHARS - 1]
    return f"{head}#{digest}"


def message_group_id(body: str | bytes | dict[str, Any]) -> str | None:
    """The MessageGroupId a command-queue message carries; None when its tenant cannot be read."""
    tenant = tenant_of(body)
    return group_id_for(tenant) if tenant else None
