"""Every contract §3 route and every reason: which routes an event meets, and with what outcome."""

from __future__ import annotations

from typing import Any

import pytest

from policy.engine import decide
from policy.state import SubjectState
from tests.unit.policy.samples import (
    compiled,
    entry,
    event,
    everything_granted,
    inquiry,
    order,
    state,
)

FWD = ("forwarded", "permitted")
NO_CONSENT = ("blocked", "no_consent")
NO_CROSS_BORDER = ("blocked", "cross_border_consent_missing")
SUSPENDED = ("blocked", "use_suspended")

ALL = everything_granted()
NONE = SubjectState.empty()
SUSPENDED_ALL = state(
    "marketing", "monitoring_research", "skin_support", "cross_border", suspended=True
)
MARKETING_ONLY = state("marketing")

ROUTE_TABLE: list[
    tuple[str, dict[str, Any], SubjectState, dict[tuple[str, str], tuple[str, str]]]
] = [
    # a delivered order in JP, every consent: the JP carrier, settlement, JP mailings, both
    # pseudonymised product-development recipients
    (
        "orders",
        order(status="delivered", country="JP"),
        ALL,
        {
            ("septem-cargo", "fulfilment"): FWD,
            ("septem-financial", "fulfilment"): FWD,
            ("septem-communications", "marketing"): FWD,
            ("septem-souken", "product_development"): FWD,
            ("enfinity", "product_development"): FWD,
        },
    ),
    # the same order without any consent: marketing blocked, the rest needs none
    (
        "orders",
        order(status="delivered", country="JP"),
        NONE,
        {
            ("septem-cargo", "fulfilment"): FWD,
            ("septem-financial", "fulfilment"): FWD,
            ("septem-communications", "marketing"): NO_CONSENT,
            ("septem-souken", "product_development"): FWD,
            ("enfinity", "product_development"): FWD,
        },
    ),
    # an order not yet delivered, to a JP address: the JP carrier hears of it already
    (
        "orders",
        order(status="paid", country="JP"),
        ALL,
        {
            ("septem-cargo", "fulfilment"): FWD,
            ("septem-financial", "fulfilment"): FWD,
            ("septem-communications", "marketing"): FWD,
            ("septem-souken", "product_development"): FWD,
            ("enfinity", "product_development"): FWD,
        },
    ),
    # a delivered order abroad, every consent: the foreign carrier, and both marketing
    # companies (contract §3 gives SEPTEM Communications orders of every country)
    (
        "orders",
        order(status="delivered", country="AU"),
        ALL,
        {
            ("sptm-international", "fulfilment"): FWD,
            ("septem-financial", "fulfilment"): FWD,
            ("septem-communications", "marketing"): FWD,
            ("affectus", "marketing"): FWD,
            ("septem-souken", "product_development"): FWD,
            ("enfinity", "product_development"): FWD,
        },
    ),
    # abroad with marketing consent but no cross-border consent: both foreign routes blocked
    (
        "orders",
        order(status="delivered", country="AU"),
        MARKETING_ONLY,
        {
            ("sptm-international", "fulfilment"): NO_CROSS_BORDER,
            ("septem-financial", "fulfilment"): FWD,
            ("septem-communications", "marketing"): FWD,
            ("affectus", "marketing"): NO_CROSS_BORDER,
            ("septem-souken", "product_development"): FWD,
            ("enfinity", "product_development"): FWD,
        },
    ),
    # abroad with no consent at all: the purpose's own consent is reported first
    (
        "orders",
        order(status="delivered", country="SG"),
        NONE,
        {
            ("sptm-international", "fulfilment"): NO_CROSS_BORDER,
            ("septem-financial", "fulfilment"): FWD,
            ("septem-communications", "marketing"): NO_CONSENT,
            ("affectus", "marketing"): NO_CONSENT,
            ("septem-souken", "product_development"): FWD,
            ("enfinity", "product_development"): FWD,
        },
    ),
    # a suspended customer in JP: fulfilment survives, marketing and research stop
    (
        "orders",
        order(status="delivered", country="JP"),
        SUSPENDED_ALL,
        {
            ("septem-cargo", "fulfilment"): FWD,
            ("septem-financial", "fulfilment"): FWD,
            ("septem-communications", "marketing"): SUSPENDED,
            ("septem-souken", "product_development"): SUSPENDED,
            ("enfinity", "product_development"): SUSPENDED,
        },
    ),
    # a suspended customer abroad: the foreign carrier still delivers
    (
        "orders",
        order(status="delivered", country="AU"),
        SUSPENDED_ALL,
        {
            ("sptm-international", "fulfilment"): FWD,
            ("septem-financial", "fulfilment"): FWD,
            ("septem-communications", "marketing"): SUSPENDED,
            ("affectus", "marketing"): SUSPENDED,
            ("septem-souken", "product_development"): SUSPENDED,
            ("enfinity", "product_development"): SUSPENDED,
        },
    ),
    # inquiries are never shared with a group company, whatever the consent
    ("inquiries", inquiry(kind="complaint"), ALL, {}),
    ("inquiries", inquiry(kind="consultation", skin_concerns=["dryness"]), ALL, {}),
    ("inquiries", inquiry(kind="question"), ALL, {}),
    # a gift in JP: the JP carrier delivers it, JP mailings with consent
    (
        "campaign-entries",
        entry(kind="gift", country="JP"),
        ALL,
        {("septem-cargo", "campaign"): FWD, ("septem-communications", "marketing"): FWD},
    ),
    # a won prize in JP goes to the carrier
    (
        "campaign-entries",
        entry(kind="prize", won_prize=True, country="JP"),
        NONE,
        {("septem-cargo", "campaign"): FWD, ("septem-communications", "marketing"): NO_CONSENT},
    ),
    # a prize entry that did not win: nothing to deliver
    (
        "campaign-entries",
        entry(kind="prize", won_prize=False, country="JP"),
        NONE,
        {("septem-communications", "marketing"): NO_CONSENT},
    ),
    # a prize entry not yet drawn (won_prize null): nothing to deliver
    (
        "campaign-entries",
        entry(kind="prize", won_prize=None, country="JP"),
        NONE,
        {("septem-communications", "marketing"): NO_CONSENT},
    ),
    # a sample abroad: no JP carrier; both marketing companies with both consents
    (
        "campaign-entries",
        entry(kind="sample", country="SG"),
        ALL,
        {("septem-communications", "marketing"): FWD, ("affectus", "marketing"): FWD},
    ),
    # a monitor entry with consent: research at Souken
    (
        "campaign-entries",
        entry(kind="monitor", country="JP"),
        ALL,
        {
            ("septem-souken", "monitoring_research"): FWD,
            ("septem-communications", "marketing"): FWD,
        },
    ),
    # a monitor entry without consent: research blocked
    (
        "campaign-entries",
        entry(kind="monitor", country="JP"),
        NONE,
        {
            ("septem-souken", "monitoring_research"): NO_CONSENT,
            ("septem-communications", "marketing"): NO_CONSENT,
        },
    ),
    # a questionnaire needs no consent for pseudonymised product development
    (
        "campaign-entries",
        entry(kind="questionnaire", country="JP"),
        NONE,
        {
            ("septem-souken", "product_development"): FWD,
            ("septem-communications", "marketing"): NO_CONSENT,
        },
    ),
    # a suspended entrant: campaign delivery is not exempt from suspension
    (
        "campaign-entries",
        entry(kind="gift", country="JP"),
        SUSPENDED_ALL,
        {
            ("septem-cargo", "campaign"): SUSPENDED,
            ("septem-communications", "marketing"): SUSPENDED,
        },
    ),
    # a suspended questionnaire entrant abroad
    (
        "campaign-entries",
        entry(kind="questionnaire", country="AU"),
        SUSPENDED_ALL,
        {
            ("septem-souken", "product_development"): SUSPENDED,
            ("septem-communications", "marketing"): SUSPENDED,
            ("affectus", "marketing"): SUSPENDED,
        },
    ),
]


@pytest.mark.parametrize(("topic", "value", "subject", "expected"), ROUTE_TABLE)
def test_when_event_meets_routes_then_each_has_the_contract_outcome(
    topic: str,
    value: dict[str, Any],
    subject: SubjectState,
    expected: dict[tuple[str, str], tuple[str, str]],
) -> None:
    decision = decide(event(topic, value), subject, compiled())
    got = {(d.recipient, d.purpose): (d.outcome, d.reason) for d in decision.decisions}
    assert got == expected
    forwarded = {(d.recipient, d.purpose) for d in decision.decisions if d.outcome == "forwarded"}
    assert {(o.recipient, o.purpose) for o in decision.outputs} == forwarded
    assert len(decision.outputs) == len(forwarded)


TAG_TABLE = [
    # an order serves communication, fulfilment, marketing and product development
    ("orders", order(), ("order_communication", "fulfilment", "marketing", "product_development")),
    # complaints and privacy requests are complaint handling only
    ("inquiries", inquiry(kind="complaint"), ("complaint_handling",)),
    ("inquiries", inquiry(kind="privacy_request"), ("complaint_handling",)),
    # questions and return requests are customer service
    ("inquiries", inquiry(kind="question"), ("order_communication",)),
    ("inquiries", inquiry(kind="return_request"), ("order_communication",)),
    # a consultation is answered and is skin support
    ("inquiries", inquiry(kind="consultation"), ("order_communication", "skin_support")),
    # every campaign entry is campaign and marketing; monitors add research
    ("campaign-entries", entry(kind="gift"), ("marketing", "campaign")),
    ("campaign-entries", entry(kind="monitor"), ("marketing", "campaign", "monitoring_research")),
    # questionnaires add product development
    (
        "campaign-entries",
        entry(kind="questionnaire"),
        ("marketing", "campaign", "product_development"),
    ),
]


@pytest.mark.parametrize(("topic", "value", "purposes"), TAG_TABLE)
def test_when_event_is_tagged_then_it_gets_the_section5_purposes(
    topic: str, value: dict[str, Any], purposes: tuple[str, ...]
) -> None:
    decision = decide(event(topic, value), SubjectState.empty(), compiled())
    assert decision.purposes == purposes
