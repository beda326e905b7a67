"""Properties of ``decide`` over any valid event and any consent state (Hypothesis).

Values that must never leave carry an upper-case ``SECRET`` marker; every other generated
string is lower-case, so finding the marker in an output means a leak. Keys the policy does
not know are mixed in at every depth (the record, each order line).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from fastavro.validation import validate as fits_schema
from hypothesis import given, settings
from hypothesis import strategies as st

from policy.engine import decide
from policy.state import Consent, SubjectState
from policy.validation import InputEvent, validate
from tests.unit.policy.samples import compiled
from wire.store import SchemaStore

LOWER = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
SECRET = LOWER.map(lambda s: f"SECRET{s}")
COUNTRY = st.sampled_from(["JP", "AU", "SG", "US"])
TIME = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)
#: The processing clock of these properties: after every generated time.
CLOCK = datetime(2031, 1, 1, tzinfo=UTC)
CUSTOMER = LOWER.map(lambda s: f"CUST{s}")
NEVER_SHARED = ("email", "subject", "message", "comment", "card_last4", "skin_concerns")
IDENTIFYING = ("customer_id", "name", "email", "phone", "address", "postal_code")
ITEM = st.fixed_dictionaries(
    {
        "sku": LOWER,
        "product_name": LOWER,
        "quantity": st.integers(1, 9),
        "unit_price_jpy": st.integers(0, 100_000),
    }
)
EXTRA = st.dictionaries(LOWER.map(lambda s: f"new_{s}"), SECRET, max_size=2)
#: An order line, sometimes with keys the policy does not classify (a card number, ...).
LINE = st.builds(lambda item, extra: {**item, **extra}, ITEM, EXTRA)


def contact() -> dict[str, Any]:
    return {
        "event_id": LOWER,
        "event_time": TIME,
        "customer_id": CUSTOMER,
        "name": LOWER,
        "email": SECRET,
        "phone": LOWER,
    }


ORDERS = st.fixed_dictionaries(
    {
        **contact(),
        "order_id": LOWER,
        "status": st.sampled_from(
            ["placed", "paid", "shipped", "delivered", "returned", "cancelled"]
        ),
        "country": COUNTRY,
        "postal_code": LOWER,
        "prefecture": LOWER,
        "address": LOWER,
        "items": st.lists(LINE, max_size=3),
        "total_jpy": st.integers(0, 10**6),
        "payment_method": st.sampled_from(
            ["card", "cash_on_delivery", "bank_transfer", "convenience_store"]
        ),
        "card_last4": st.none() | SECRET,
    }
)
INQUIRIES = st.fixed_dictionaries(
    {
        **contact(),
        "inquiry_id": LOWER,
        "kind": st.sampled_from(
            ["question", "complaint", "consultation", "return_request", "privacy_request"]
        ),
        "related_order_id": st.none() | LOWER,
        "subject": SECRET,
        "message": SECRET,
        "skin_concerns": st.none() | st.lists(SECRET, max_size=2),
    }
)
ENTRIES = st.fixed_dictionaries(
    {
        **contact(),
        "campaign_id": LOWER,
        "kind": st.sampled_from(["gift", "sample", "prize", "questionnaire", "monitor"]),
        "country": COUNTRY,
        "postal_code": LOWER,
        "prefecture": LOWER,
        "address": LOWER,
        "birth_year": st.none() | st.integers(1920, 2015),
        "gender": st.none() | LOWER,
        "answers": st.dictionaries(LOWER, LOWER, max_size=3),
        "product_sku": st.none() | LOWER,
        "rating": st.none() | st.integers(1, 5),
        "comment": st.none() | SECRET,
        "won_prize": st.none() | st.booleans(),
    }
)
SCOPES = [p.id for p in compiled().policy.purposes] + ["cross_border"]
STATES = st.builds(
    lambda consents, suspended, at: SubjectState(
        MappingProxyType({s: Consent(g, at) for s, g in consents.items()}),
        suspended,
        at if suspended else None,
    ),
    st.dictionaries(st.sampled_from(SCOPES), st.booleans()),
    st.booleans(),
    TIME,
)


@st.composite
def events(draw: st.DrawFn) -> InputEvent:
    topic, strategy = draw(
        st.sampled_from(
            [("orders", ORDERS), ("inquiries", INQUIRIES), ("campaign-entries", ENTRIES)]
        )
    )
    value = {**draw(strategy), **draw(EXTRA)}
    checked = validate(topic, value, compiled(), CLOCK)
    assert isinstance(checked, InputEvent), checked
    return checked


PLANS = {plan.route_id: plan for plan in compiled().all_plans}


def plan_of(recipient: str, purpose: str, topic: str) -> Any:
    return PLANS[f"{recipient}/{purpose}/{topic}"]


@settings(max_examples=300, deadline=None)
@given(events(), STATES)
def test_when_any_event_meets_any_state_then_outputs_stay_within_route_allowlists(
    event: InputEvent, state: SubjectState
) -> None:
    decision = decide(event, state, compiled())
    for output in decision.outputs:
        allowed = plan_of(output.recipient, output.purpose, event.topic).output_keys()
        assert set(output.value) <= set(allowed)


STORE = SchemaStore.load()


def containers(value: Any) -> set[int]:
    """The ids of every list and dict inside a value."""
    if isinstance(value, dict):
        return {id(value)}.union(*(containers(v) for v in value.values()))
    if isinstance(value, list):
        return {id(value)}.union(*(containers(v) for v in value))
    return set()


@settings(max_examples=300, deadline=None)
@given(events(), STATES)
def test_when_any_event_is_decided_then_no_value_leaves_outside_the_allowlist_at_any_depth(
    event: InputEvent, state: SubjectState
) -> None:
    # The output schema of a route is its allowlist at every depth (generated from the policy):
    # strict validation refuses any key it does not have, in the record or in a nested one.
    decision = decide(event, state, compiled())
    for output in decision.outputs:
        schema = STORE.get(output.schema)
        assert fits_schema(output.value, schema.parsed, strict=True)
        assert "SECRET" not in json.dumps(output.value, default=str)
        assert not containers(output.value) & containers(event.value)  # nothing copied


@settings(max_examples=300, deadline=None)
@given(events(), STATES)
def test_when_any_event_is_decided_then_no_email_free_text_card_or_skin_data_leaves(
    event: InputEvent, state: SubjectState
) -> None:
    decision = decide(event, state, compiled())
    for output in decision.outputs:
        assert not set(output.value) & set(NEVER_SHARED)
        assert "SECRET" not in json.dumps(output.value, default=str)
        assert not any(k.startswith("new_") for k in output.value)


@settings(max_examples=300, deadline=None)
@given(events(), STATES)
def test_when_route_is_pseudonymised_then_no_identifying_field_or_customer_id_leaves(
    event: InputEvent, state: SubjectState
) -> None:
    decision = decide(event, state, compiled())
    for output in decision.outputs:
        if output.purpose != "product_development":
            continue
        assert not set(output.value) & set(IDENTIFYING)
        assert "CUST" not in json.dumps(output.value, default=str)
        assert output.key == output.value["subject_pseudonym"]
        assert "birth_year" not in output.value


@settings(max_examples=200, deadline=None)
@given(events(), STATES)
def test_when_event_is_decided_then_neither_event_nor_state_is_mutated(
    event: InputEvent, state: SubjectState
) -> None:
    value_before = copy.deepcopy(event.value)
    state_before = state.to_json()
    decision = decide(event, state, compiled())
    for output in decision.outputs:
        for item in output.value.get("items") or []:
            item["quantity"] = -1  # a consumer scribbling on its copy
        if isinstance(output.value.get("answers"), dict):
            output.value["answers"]["scribbled"] = "x"
    assert event.value == value_before
    assert state.to_json() == state_before


@settings(max_examples=200, deadline=None)
@given(CUSTOMER, LOWER)
def test_when_a_customer_is_pseudonymised_then_stable_per_recipient_and_distinct_across(
    customer_id: str, order_id: str
) -> None:
    value = {
        "event_id": order_id, "event_time": datetime(2026, 1, 1, tzinfo=UTC),
        "customer_id": customer_id, "order_id": order_id, "status": "paid", "name": "n",
        "email": "e", "phone": "p", "country": "JP", "postal_code": "z", "prefecture": "r",
        "address": "a", "items": [], "total_jpy": 0, "payment_method": "bank_transfer",
        "card_last4": None,
    }  # fmt: skip
    checked = validate("orders", value, compiled(), CLOCK)
    assert isinstance(checked, InputEvent)
    first = decide(checked, SubjectState.empty(), compiled())
    again = decide(checked, SubjectState.empty(), compiled())
    by_recipient = {o.recipient: o.key for o in first.outputs if o.purpose == "product_development"}
    assert by_recipient == {
        o.recipient: o.key for o in again.outputs if o.purpose == "product_development"
    }
    assert by_recipient["septem-souken"] != by_recipient["enfinity"]
    assert customer_id not in by_recipient.values()


@settings(max_examples=200, deadline=None)
@given(events(), STATES)
def test_when_event_is_decided_then_every_considered_route_is_audited_once(
    event: InputEvent, state: SubjectState
) -> None:
    decision = decide(event, state, compiled())
    audit = decision.audit_record()
    forwarded = [d for d in audit["decisions"] if d["outcome"] == "forwarded"]
    assert len(forwarded) == len(decision.outputs)
    assert all(d["reason"] == "permitted" for d in forwarded)
    assert all(
        d["reason"] != "permitted" and d["fields_sent"] == []
        for d in audit["decisions"]
        if d["outcome"] == "blocked"
    )
    assert all(p in compiled().purpose_order for p in audit["purposes"])
