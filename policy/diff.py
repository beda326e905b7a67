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

from typing import Final, Literal, NamedTuple

from policy.decision import Decision

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


def changes(old: Decision | None, new: Decision | None) -> tuple[RouteChange, ...]:
    """The items ``new`` sends that ``old`` does not (gained) and the reverse (lost), sorted."""
    return changes_between(sent(old), sent(new))


def changes_between(before: frozenset[Sent], after: frozenset[Sent]) -> tuple[RouteChange, ...]:
    """The changes from what one version sent to what the other sent."""
    gained = [RouteChange(*s, "gained") for s in after - before]
    lost = [RouteChange(*s, "lost") for s in before - after]
    return tuple(sorted(gained + lost))
