"""What one event gains or loses between two policy versions: pure, for ``diff-policy`` (a file,
both versions) and the worker's shadow mode (each event, the version in force and the shadow).

An event *sends* ``(recipient, purpose, item)`` when a route decision of it forwards: one
``RECORD`` item for the record itself (a route newly forwarding, even with no field beyond the
envelope, is a change) and one per output key in ``fields_sent``. A change is an item one
version sends and the other does not: ``gained`` (only the new version sends it) or ``lost``.

>>> from datetime import UTC, datetime
>>> from policy.decision import Decision, RouteDecision
>>> def decided(*fields):
...     route = RouteDecision("cargo", "fulfilment", "t", "forwarded", "permitted", fields, ())
...     at = datetime(2026, 1, 1, tzinfo=UTC)
...     return Decision("e1", at, "orders", "c1", (), "v", (route,), ())
>>> [(c.item, c.change) for c in changes(decided("name"), decided("name", "phone"))]
[('phone', 'gained')]
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Literal, NamedTuple

from policy import topics
from policy.compile import CompiledPolicy
from policy.decision import Decision
from policy.models import FieldRule, Policy
from policy.operators import REGISTRY
from policy.state import SubjectState
from policy.step import step
from policy.validation import InputEvent

#: The item that stands for "the record went to this recipient for this purpose".
RECORD: Final = "(record)"

ChangeName = Literal["gained", "lost"]


class Sent(NamedTuple):
    recipient: str
    purpose: str
    item: str


class RouteChange(NamedTuple):
    """One item one version sends for an event and the other does not."""

    recipient: str
    purpose: str
    item: str
    change: ChangeName


def sent(decision: Decision | None) -> frozenset[Sent]:
    """What an event sends under one version (None: the version refused the event, nothing)."""
    if decision is None:
        return frozenset()
    return frozenset(
        Sent(route.recipient, route.purpose, item)
        for route in decision.decisions
        if route.outcome == "forwarded"
        for item in (RECORD, *route.fields_sent)
    )


def policy_sends(policy: Policy) -> frozenset[Sent]:
    """What ``policy``'s routes can send at most, as an event that every route forwards would:
    the record and each output key, per recipient and purpose (``purposegate policies``)."""
    return frozenset(
        Sent(route.recipient, route.purpose, item)
        for route in policy.routes
        for item in (RECORD, *_output_keys(route.fields))
    )


def _output_keys(fields: Mapping[str, FieldRule]) -> list[str]:
    keys = (REGISTRY[rule.op].output_key(field) for field, rule in fields.items())
    return [key for key in keys if key is not None]


def changes(old: Decision | None, new: Decision | None) -> tuple[RouteChange, ...]:
    """The items ``new`` sends that ``old`` does not (gained) and the reverse (lost), sorted."""
    return changes_between(sent(old), sent(new))


def changes_between(before: frozenset[Sent], after: frozenset[Sent]) -> tuple[RouteChange, ...]:
    """The changes from what one version sent to what the other sent."""
    gained = [RouteChange(*s, "gained") for s in after - before]
    lost = [RouteChange(*s, "lost") for s in before - after]
    return tuple(sorted(gained + lost))


def shadow_difference(
    event: InputEvent,
    state: SubjectState,
    shadow: CompiledPolicy,
    stream_time: datetime | None,
    decided: Decision,
) -> dict[str, Any] | None:
    """The ``purposegate.shadow`` value when ``shadow`` decides ``event`` differently from the
    policy in force (which made ``decided`` from the same ``state``); None when alike. State
    changes route nothing, so they never differ; the shadow's own new state is dropped (the
    state table is the policy in force's)."""
    if event.topic in topics.STATE_TOPICS:
        return None
    _, shadowed = step(event, state, shadow, stream_time)
    found = changes(decided, shadowed)
    if not found:
        return None
    return {
        "event_id": decided.event_id,
        "event_time": decided.event_time,
        "source_topic": decided.source_topic,
        "policy_version": decided.policy_version,
        "shadow_policy_version": shadow.policy_version,
        "differences": [c._asdict() for c in found],
    }
