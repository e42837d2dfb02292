"""EventBridge rule targets moto 5.2.5 does not deliver, delivered here: SNS topics.

moto's EventBridge delivers a matched event to SQS queues, log groups, archives and other buses, and
raises `NotImplementedError` for any other target, so a `PutEvents` that matches a rule with an SNS
target (the template's `RunFailureNotificationRule` when `AlarmTopicArn` is set) fails as a whole.
On AWS, EventBridge publishes the event, through the target's input transformer, to the topic, and
a target it cannot deliver to never fails the `PutEvents` (it counts a `FailedInvocations`).

`install()` (the local moto server calls it) wraps moto's rule delivery: SNS targets are published
here, with moto's own input transformer (`EventTemplateParser`) and moto's SNS (which delivers to the
topic's subscriptions); every other target is left to moto. Schedules are the other EventBridge
bridge (`scheduler.py`): moto never fires them.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

_LOCK = threading.Lock()


def message_for(target: dict[str, Any], event: dict[str, Any]) -> str:
    """The text EventBridge sends to `target` for `event`: the input transformer's output, else the event's JSON.

    A template that is a JSON string (`"... <var> ..."`) yields that string with its quotes, as the
    EventBridge guide's examples show (`"<aws.events.rule-name> triggered"` -> `"example triggered"`);
    a value placed in it stays inside it (a quote or a line break in it is escaped), where moto's parser
    would fail on it.
    """
    from moto.events.utils import EventTemplateParser

    transformer = target.get("InputTransformer") or {}
    template = str(transformer.get("InputTemplate") or "")  # empty: moto's default (the whole event)
    source: Any = _escaped(event) if template.strip().startswith('"') else event
    payload = EventTemplateParser.parse(
        input_template=template, input_paths_map=transformer.get("InputPathsMap", {}), event=source
    )
    return json.dumps(payload, ensure_ascii=False)


def _escaped(value: Any) -> Any:
    """`value` with every string as the content of a JSON string literal (what goes between its quotes)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)[1:-1]
    if isinstance(value, dict):
        return {key: _escaped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_escaped(item) for item in value]
    return value


def _publish_to_topic(rule: Any, target: dict[str, Any], event: dict[str, Any], transform_input: bool) -> None:
    from moto.sns.models import sns_backends
    from moto.utilities.arns import parse_arn

    topic = parse_arn(target["Arn"])
    try:
        message = message_for(target if transform_input else {}, event)  # a replay sends the event as it was
        sns_backends[topic.account][topic.region].publish(message=message, arn=target["Arn"])
    except Exception as exc:  # as on AWS: an undeliverable target is the rule's failed invocation, not the caller's
        logger.warning("EventBridge rule %s could not deliver to %s: %s", rule.name, target["Arn"], exc)


def _with_sns_targets(original: Callable[..., None]) -> Callable[..., None]:
    def send_to_targets(self: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
        topics = [t for t in self.targets if t["Arn"].split(":")[2:3] == ["sns"]]
        if not topics:
            return original(self, original_event, transform_input)
        if not self.event_pattern.matches_event(original_event):
            return None
        for target in topics:
            _publish_to_topic(self, target, original_event, transform_input)
        rest = copy.copy(self)  # moto delivers the other targets, of a copy that no longer lists the topics
        rest.targets = [t for t in self.targets if t not in topics]
        return original(rest, original_event, transform_input)

    send_to_targets._sns_bridge = True  # type: ignore[attr-defined]
    return send_to_targets


def install() -> None:
    """Deliver EventBridge -> SNS in moto (idempotent, process-wide: the local moto server and `mock_aws`)."""
    from moto.events.models import Rule

    with _LOCK:
        if getattr(Rule.send_to_targets, "_sns_bridge", False):
            return
        Rule.send_to_targets = _with_sns_targets(Rule.send_to_targets)  # type: ignore[method-assign]
