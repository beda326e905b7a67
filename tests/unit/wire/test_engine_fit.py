"""What the policy engine emits fits the wire schemas exactly (strict: no key more, none less)."""

from __future__ import annotations

from typing import Any

import pytest

from policy import topics
from policy.decision import Decision
from policy.state import SubjectState
from policy.step import step
from tests.unit.policy import samples as ps
from wire import Codec, Decoded, Route, SchemaStore

STORE = SchemaStore.load()
CODEC = Codec(STORE)


def _decision(topic: str, value: dict[str, Any], state: SubjectState) -> Decision:
    return step(ps.event(topic, value), state, ps.compiled())[1]


@pytest.mark.parametrize(
    ("topic", "value", "state"),
    [
        (topics.ORDERS, ps.order(), ps.everything_granted()),  # JP delivered: cargo, financial, ...
        (topics.ORDERS, ps.order(country="AU"), ps.everything_granted()),  # abroad: AU/SG routes
        (topics.ORDERS, ps.order(), ps.state()),  # no consent: marketing blocked
        (topics.CAMPAIGN_ENTRIES, ps.entry(kind="monitor"), ps.everything_granted()),  # souken
        (
            topics.CAMPAIGN_ENTRIES,
            ps.entry(kind="questionnaire"),
            ps.everything_granted(),
        ),  # pseud.
        (topics.CAMPAIGN_ENTRIES, ps.entry(kind="gift"), ps.everything_granted()),  # cargo
        (topics.INQUIRIES, ps.inquiry(kind="consultation"), ps.everything_granted()),  # nothing out
        (topics.CONSENTS, ps.consent("marketing", False), ps.everything_granted()),  # withdrawal
        (topics.SUBJECT_REQUESTS, ps.request("suspend_use", False), ps.state()),  # rejected
    ],
)
def test_when_engine_decides_then_outputs_and_audit_encode_strictly(
    topic: str, value: dict[str, Any], state: SubjectState
) -> None:
    decision = _decision(topic, value, state)
    for output in decision.outputs:
        decoded = CODEC.decode(CODEC.encode(output.schema, output.value, strict=True))
        assert decoded == Decoded(output.schema, output.value)
    audit = decision.audit_record()
    decoded = CODEC.decode(CODEC.encode("AuditRecord", audit, strict=True))
    assert isinstance(decoded, Decoded)
    assert decoded.value == audit


@pytest.mark.parametrize(
    ("recipient", "purpose", "source", "expected"),
    [
        # a topic with two sources has one record per source
        ("affectus", "marketing", "orders", "AffectusMarketingFromOrders"),
        ("affectus", "marketing", "campaign-entries", "AffectusMarketingFromCampaignEntries"),
        # a topic with one source
        ("enfinity", "product_development", "orders", "EnfinityProductDevelopmentFromOrders"),
    ],
)
def test_when_route_compiled_then_its_outputs_name_the_route_schema(
    recipient: str, purpose: str, source: str, expected: str
) -> None:
    (plan,) = [
        p for p in ps.compiled().plans[source] if (p.recipient, p.purpose) == (recipient, purpose)
    ]
    assert plan.schema == expected
    schema = STORE.get(expected)
    assert schema.route == Route(recipient, purpose, source)
    assert schema.route.topic == plan.topic


def test_when_any_route_compiled_then_its_schema_is_that_routes_schema() -> None:
    # the codec never looks a schema up by topic: every route's outputs name exactly theirs
    for source, plans in ps.compiled().plans.items():
        for plan in plans:
            route = STORE.get(plan.schema).route
            assert route == Route(plan.recipient, plan.purpose, source), plan.route_id
