"""The StopTask reason the backstop gives, shared with the reconciler's diagnosis that recognises it later."""

from __future__ import annotations

BACKSTOP_REASON_PREFIX = "Stopped by the executor's backstop"
#: ECS keeps at most 255 characters of a StopTask reason.
MAX_REASON_CHARS = 255
