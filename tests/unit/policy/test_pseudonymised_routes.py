"""Pseudonymised records cannot be joined back to named ones (docs/contract.md §3): every Souken
route and Enfinity's carry a recipient-keyed HMAC of the event id (stable, so the recipient
can deduplicate) and the event time truncated to the route's time grain (the quarter for
orders, the year for campaign entries in the shipped policy; never finer than the day); no
order id, no free text, birth year only as a band; their tombstones carry the pseudonymised
event id too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from policy.engine import apply_state_event, decide
from policy.keys import EventIdPseudonymiserFn
from policy.state import EMPTY
from policy.step import step
from tests.unit.policy.samples import (
    compiled,
    entry,
    event,
    everything_granted,
    order,
    request,
)
from wire.headers import stamp_headers

AT = datetime(2026, 11, 24, 9, 30, 12, 345000, tzinfo=UTC)
#: The start of AT's quarter: the shipped pseudonymised routes from orders are that coarse.
QUARTER = datetime(2026, 10, 1, tzinfo=UTC)
#: The start of AT's year: those from campaign entries (docs/clauses.md, "Unlinkable").
YEAR = datetime(2026, 1, 1, tzinfo=UTC)
PSEUDONYMISED = {"septem-souken", "enfinity"}

ROUTES = [
    # an order: Souken's and Enfinity's product development, by the quarter
    ("orders", order(event_time=AT), {"septem-souken", "enfinity"}, QUARTER),
    # a monitor entry: Souken's research, pseudonymised too, by the year
    ("campaign-entries", entry(kind="monitor", event_time=AT), {"septem-souken"}, YEAR),
    # a questionnaire: Souken's product development, by the year
    ("campaign-entries", entry(kind="questionnaire", event_time=AT), {"septem-souken"}, YEAR),
]


@pytest.mark.parametrize(("topic", "value", "recipients", "start"), ROUTES)
def test_when_a_route_is_pseudonymised_then_its_envelope_cannot_be_joined(
    topic: str, value: dict[str, Any], recipients: set[str], start: datetime
) -> None:
    decision = decide(event(topic, value), everything_granted(), compiled())
    pseudonymised = [o for o in decision.outputs if o.recipient in PSEUDONYMISED]
    assert {o.recipient for o in pseudonymised} == recipients
    named_ids = {o.value["event_id"] for o in decision.outputs if o not in pseudonymised}
    assert named_ids <= {value["event_id"]}
    for output in pseudonymised:
        assert output.value["event_id"] != value["event_id"]
        assert output.value["event_time"] == start
        assert output.key == output.value["subject_pseudonym"] != value["customer_id"]
        assert not {"order_id", "name", "phone", "address", "postal_code", "birth_year"} & set(
            output.value
        )
        headers = dict(stamp_headers(output.value))
        assert headers["purposegate-event-id"] == output.value["event_id"].encode()


def test_when_the_same_event_is_decided_again_then_its_pseudonymised_id_is_stable() -> None:
    first = decide(event("orders", order()), EMPTY, compiled())
    again = decide(event("orders", order()), EMPTY, compiled())
    ids = {o.recipient: o.value["event_id"] for o in first.outputs}
    assert ids == {o.recipient: o.value["event_id"] for o in again.outputs}
    assert ids["septem-souken"] != ids["enfinity"]  # one key per recipient
    other = decide(event("orders", order(event_id="ev-order-2")), EMPTY, compiled())
    assert {o.value["event_id"] for o in other.outputs}.isdisjoint(
        o.value["event_id"] for o in first.outputs if o.recipient in PSEUDONYMISED
    )


def test_when_an_event_id_is_a_customer_id_then_the_two_pseudonyms_still_differ() -> None:
    decision = decide(event("orders", order(event_id="cust-1")), EMPTY, compiled())
    for output in decision.outputs:
        if output.recipient in PSEUDONYMISED:
            assert output.value["event_id"] != output.value["subject_pseudonym"]


def test_when_a_suspension_reaches_a_pseudonymised_topic_then_its_event_id_is_keyed() -> None:
    fed, _ = step(event("orders", order()), EMPTY, compiled())
    suspend = request("suspend_use", True, datetime(2026, 11, 25, tzinfo=UTC))
    _, decision = apply_state_event(event("subject-requests", suspend), fed, compiled())
    by_topic = {t.topic: t for t in decision.tombstones}
    named = by_topic.pop("shared.septem-communications.marketing", None)
    assert named is None  # no marketing consent: that topic never had the key
    assert set(by_topic) == {
        "shared.septem-souken.product_development",
        "shared.enfinity.product_development",
    }
    ids = {t.event_id for t in by_topic.values()}
    assert suspend["event_id"] not in ids and len(ids) == 2


def test_when_the_event_id_key_is_shown_then_it_is_hidden() -> None:
    assert "test-key" not in repr(EventIdPseudonymiserFn(b"test-key-0000"))
