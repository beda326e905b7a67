"""Shared builders for the policy tests: the compiled shipped policy, fixed test keys, and
synthetic input records (obviously fake values) with per-test overrides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from types import MappingProxyType
from typing import Any

from policy.compile import CompiledPolicy, compile_policy
from policy.keys import PseudonymKeys
from policy.loader import load_policy
from policy.state import Consent, SubjectState
from policy.validation import InputEvent, Invalid, validate

#: Fixed, obviously fake keys for every recipient (tests only).
TEST_KEYS = PseudonymKeys(
    {
        "affectus": b"test-key-affectus-" + b"0" * 32,
        "enfinity": b"test-key-enfinity-000000000000000000000000",
        "septem-cargo": b"test-key-septem-cargo-" + b"0" * 32,
        "septem-communications": b"test-key-septem-communications-" + b"0" * 32,
        "septem-financial": b"test-key-septem-financial-" + b"0" * 32,
        "septem-souken": b"test-key-septem-souken-0000000000000000",
        "sptm-international": b"test-key-sptm-international-" + b"0" * 32,
    }
)
T0 = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
#: The processing clock of the unit tests: a day after T0.
NOW = T0 + timedelta(days=1)
ALL_SCOPES = (
    "marketing",
    "monitoring_research",
    "skin_support",
    "cross_border",
)


@cache
def compiled() -> CompiledPolicy:
    return compile_policy(load_policy(), TEST_KEYS)


def order(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "event_id": "ev-order-1",
        "event_time": T0,
        "customer_id": "cust-1",
        "order_id": "ord-1",
        "status": "delivered",
        "name": "Test Person A",
        "email": "person-a@example.invalid",
        "phone": "000-0000-0001",
        "country": "JP",
        "postal_code": "000-0001",
        "prefecture": "Aichi",
        "address": "1-1 Test Street",
        "items": [
            {"sku": "SKU-1", "product_name": "Lotion", "quantity": 2, "unit_price_jpy": 1500}
        ],
        "total_jpy": 3000,
        "payment_method": "card",
        "card_last4": "0000",
    }
    value.update(overrides)
    return value


def inquiry(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "event_id": "ev-inq-1",
        "event_time": T0,
        "customer_id": "cust-1",
        "inquiry_id": "inq-1",
        "kind": "question",
        "name": "Test Person A",
        "email": "person-a@example.invalid",
        "phone": "000-0000-0001",
        "related_order_id": None,
        "subject": "test subject",
        "message": "test message text",
        "skin_concerns": None,
    }
    value.update(overrides)
    return value


def entry(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "event_id": "ev-entry-1",
        "event_time": T0,
        "customer_id": "cust-1",
        "campaign_id": "camp-1",
        "kind": "gift",
        "name": "Test Person A",
        "email": "person-a@example.invalid",
        "phone": "000-0000-0001",
        "country": "JP",
        "postal_code": "000-0001",
        "prefecture": "Aichi",
        "address": "1-1 Test Street",
        "birth_year": 1984,
        "gender": "f",
        "answers": {"q1": "a2"},
        "product_sku": "SKU-1",
        "rating": 4,
        "comment": "test comment text",
        "won_prize": None,
    }
    value.update(overrides)
    return value


def consent(scope: str, granted: bool, at: datetime = T0, **overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "event_id": f"ev-consent-{scope}-{granted}-{at.isoformat()}",
        "event_time": at,
        "customer_id": "cust-1",
        "scope": scope,
        "granted": granted,
        "source": "web_form",
    }
    value.update(overrides)
    return value


def request(kind: str, verified: bool, at: datetime = T0, **overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "event_id": f"ev-request-{kind}-{verified}-{at.isoformat()}",
        "event_time": at,
        "customer_id": "cust-1",
        "kind": kind,
        "identity_verified": verified,
    }
    value.update(overrides)
    return value


def event(topic: str, value: dict[str, Any]) -> InputEvent:
    checked = validate(topic, value, compiled(), NOW)
    assert not isinstance(checked, Invalid), checked
    return checked


def state(
    *granted: str,
    suspended: bool = False,
    denied: tuple[str, ...] = (),
    fed: tuple[str, ...] = (),
) -> SubjectState:
    """A state with the given scopes granted (and ``denied`` explicitly withdrawn) a day before
    T0, whose key went to the ``fed`` shared topics."""
    earlier = T0 - timedelta(days=1)
    consents = {s: Consent(True, earlier) for s in granted}
    consents.update({s: Consent(False, earlier) for s in denied})
    return SubjectState(
        MappingProxyType(consents),
        suspended,
        earlier if suspended else None,
        fed_topics=frozenset(fed),
    )


def all_shared() -> tuple[str, ...]:
    """Every shared topic: a subject whose records went everywhere."""
    return compiled().shared_topics


def everything_granted() -> SubjectState:
    return state(*ALL_SCOPES)
