"""``policy.diff``: what one event gains or loses between two versions' decisions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from policy.decision import Decision, RouteDecision
from policy.diff import RECORD, changes


def route(recipient: str, outcome: str, *fields: str) -> RouteDecision:
    reason = "permitted" if outcome == "forwarded" else "no_consent"
    return RouteDecision(recipient, "marketing", f"shared.{recipient}.marketing", outcome,  # type: ignore[arg-type]
                         reason, fields, ())  # type: ignore[arg-type]  # fmt: skip


def decided(*routes: RouteDecision) -> Decision:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return Decision("e1", at, "orders", "c1", ("marketing",), "v", routes, ())


SENT = decided(route("comms", "forwarded", "name", "phone"))
BLOCKED = decided(route("comms", "blocked"))

# (old, new, expected (recipient, item, change))
ROWS = {
    # the same decisions: nothing
    "same": (SENT, SENT, []),
    # a route now blocked: the record and each item lost
    "blocked": (SENT, BLOCKED, [("comms", RECORD, "lost"), ("comms", "name", "lost"),
                                ("comms", "phone", "lost")]),
    # a field added: that field gained only
    "field-added": (SENT, decided(route("comms", "forwarded", "name", "phone", "address")),
                    [("comms", "address", "gained")]),
    # a new recipient forwarding the envelope only: the record gained
    "envelope-only": (SENT, decided(route("comms", "forwarded", "name", "phone"),
                                    route("other", "forwarded")), [("other", RECORD, "gained")]),
    # the event refused under the new version: everything lost
    "refused": (SENT, None, [("comms", RECORD, "lost"), ("comms", "name", "lost"),
                             ("comms", "phone", "lost")]),
    # blocked under both, for different reasons: no item changes hands
    "both-blocked": (BLOCKED, decided(route("comms", "blocked")), []),
}  # fmt: skip


@pytest.mark.parametrize(("old", "new", "expected"), ROWS.values(), ids=ROWS.keys())
def test_when_two_versions_decide_an_event_then_changes_are_the_items_that_differ(
    old: Decision | None, new: Decision | None, expected: list[tuple[str, str, str]]
) -> None:
    assert [(c.recipient, c.item, c.change) for c in changes(old, new)] == expected
