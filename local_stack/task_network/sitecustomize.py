"""What a local task's subnets cannot reach: the local ECS agent's stand-in for routes and egress rules.

On Fargate, a destination the task's subnets have no route to (or its security group no egress
for) answers nothing: the connection attempt times out, whatever URL the task was given. The local
agent puts this folder on a task's PYTHONPATH with `LOCAL_TASK_UNREACHABLE=host:port[,...]`; Python
imports `sitecustomize` at start-up, and from then on every connect() of that task's processes to
one of those addresses fails the same way (at once, rather than after the connect timeout).
Nothing outside a local task imports it. It covers the runner's own process, which is what the
self-test judges; the `datahub ingest` child gets a fresh environment (child_input), so locally a
RUN_INGEST's sink would still reach GMS, where on AWS it would time out as well.
"""

from __future__ import annotations

import errno
import os
import socket
from typing import Any

ENV = "LOCAL_TASK_UNREACHABLE"


def _blocked() -> frozenset[tuple[str, int]]:
    addresses: set[tuple[str, int]] = set()
    for item in filter(None, (part.strip() for part in (os.environ.get(ENV) or "").split(","))):
        host, _, port = item.rpartition(":")
        for *_, address in socket.getaddrinfo(host, int(port), proto=socket.IPPROTO_TCP):
            addresses.add((str(address[0]), int(address[1])))
    return frozenset(addresses)


_BLOCKED = _blocked()
_connect = socket.socket.connect


def _refuse(address: Any) -> None:
    if isinstance(address, tuple) and (str(address[0]), int(address[1])) in _BLOCKED:
        where = f"{address[0]}:{address[1]}"
        raise TimeoutError(errno.ETIMEDOUT, f"Connection timed out: no route from the task to {where}")


def _connect_or_time_out(self: socket.socket, address: Any) -> None:
    _refuse(address)
    _connect(self, address)


if _BLOCKED:
    socket.socket.connect = _connect_or_time_out  # type: ignore[method-assign,assignment]
