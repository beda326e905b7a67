"""Consent expiry (docs/contract.md §2, ``purposes[*].consent_valid_for``): a grant applies to
events in ``[its event_time, its event_time + validity)``; after that it counts as absent, reason
``consent_expired``. Decided as of the event's ``event_time``: no processing clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from policy.engine import decide
from policy.loader import load_policy
from policy.models import period
from policy.rules import policy_faults
from policy.state import EMPTY, SubjectState
from policy.step import step
from tests.unit.policy.samples import T0 as NOW_ISH
from tests.unit.policy.samples import compiled, consent, entry, event, order

TWO_YEARS = timedelta(days=730)
#: Far enough back that every row (up to three periods on) lies before the test clock.
T0 = NOW_ISH - 3 * TWO_YEARS - timedelta(days=30)


def granted_at(at: datetime, *more: tuple[str, bool, datetime]) -> SubjectState:
    state, _ = step(event("consents", consent("marketing", True, at)), EMPTY, compiled())
    for scope, granted, when in more:
        state, _ = step(event("consents", consent(scope, granted, when)), state, compiled())
    return state


def decided(state: SubjectState, at: datetime, recipient: str) -> tuple[str, str | None]:
    country = "JP" if recipient != "affectus" else "SG"
    decision = decide(event("orders", order(event_time=at, country=country)), state, compiled())
    (route,) = [d for d in decision.decisions if d.recipient == recipient]
    return route.reason, route.cause_event_id


MAIL = "septem-communications"
ROWS = [
    # the grant's first instant and its last: in force
    (granted_at(T0), T0, MAIL, "permitted"),
    (granted_at(T0), T0 + TWO_YEARS - timedelta(milliseconds=1), MAIL, "permitted"),
    # two years (730 days) on, to the millisecond: expired
    (granted_at(T0), T0 + TWO_YEARS, MAIL, "consent_expired"),
    (granted_at(T0), T0 + 3 * TWO_YEARS, MAIL, "consent_expired"),
    # a renewed grant starts a new period
    (granted_at(T0, ("marketing", True, T0 + TWO_YEARS)), T0 + TWO_YEARS, MAIL, "permitted"),
    # a withdrawal stays a withdrawal: no_consent, never "expired"
    (granted_at(T0, ("marketing", False, T0 + timedelta(days=1))), T0 + TWO_YEARS, MAIL,
     "no_consent"),
    # an event before the grant: no_consent (the grant does not apply back), not expired
    (granted_at(T0), T0 - timedelta(days=1), MAIL, "no_consent"),
    # cross_border declares no period: abroad, only the marketing grant expires
    (granted_at(T0, ("cross_border", True, T0)), T0 + TWO_YEARS, "affectus", "consent_expired"),
    # a purpose that needs no consent is never expired (fulfilment)
    (granted_at(T0), T0 + 3 * TWO_YEARS, "septem-cargo", "permitted"),
]  # fmt: skip


@pytest.mark.parametrize(("state", "at", "recipient", "reason"), ROWS)
def test_when_a_grant_outlives_its_period_then_it_counts_as_absent(
    state: SubjectState, at: datetime, recipient: str, reason: str
) -> None:
    assert decided(state, at, recipient)[0] == reason


ONE_YEAR = timedelta(days=365)


def monitor_decided(granted: datetime, at: datetime) -> str:
    """The reason of the research route for a monitor entry at ``at``, consent granted at
    ``granted`` (the shipped policy's ``monitoring_research.consent_valid_for: 1y``)."""
    state, _ = step(event("consents", consent("monitoring_research", True, granted)), EMPTY,
                    compiled())  # fmt: skip
    decision = decide(event("campaign-entries", entry(kind="monitor", event_time=at)), state,
                      compiled())  # fmt: skip
    (route,) = [d for d in decision.decisions if d.purpose == "monitoring_research"]
    return route.reason


@pytest.mark.parametrize(
    ("after", "reason"),
    [
        (timedelta(0), "permitted"),  # the grant's first instant
        (ONE_YEAR - timedelta(milliseconds=1), "permitted"),  # its last
        (ONE_YEAR, "consent_expired"),  # 365 days on: expired
        (2 * ONE_YEAR, "consent_expired"),  # long after: still expired, not no_consent
    ],
)
def test_when_a_monitoring_grant_is_a_year_old_then_research_is_blocked_as_expired(
    after: timedelta, reason: str
) -> None:
    assert monitor_decided(T0, T0 + after) == reason


@pytest.mark.parametrize(
    ("after", "in_force"),
    [
        (ONE_YEAR - timedelta(milliseconds=1), True),  # the last instant of the year
        (ONE_YEAR, False),  # 365 days on: expired
    ],
)
def test_when_a_skin_support_grant_is_a_year_old_then_it_is_no_longer_in_force(
    after: timedelta, in_force: bool
) -> None:
    # no route carries skin_support: the period bounds any future one, so the state that every
    # route's decision reads is what proves it
    state, _ = step(event("consents", consent("skin_support", True, T0)), EMPTY, compiled())
    now = state.as_of(T0 + after, compiled().consent_validity)
    assert ("skin_support" in now.granted, "skin_support" in now.expired) == (
        in_force,
        not in_force,
    )


def test_when_a_consent_period_is_read_then_the_shipped_policy_says_one_or_two_years() -> None:
    validity = compiled().consent_validity
    assert validity == {"marketing": 2 * ONE_YEAR, "monitoring_research": ONE_YEAR,
                        "skin_support": ONE_YEAR}  # fmt: skip


def test_when_blocked_as_expired_then_the_audit_names_the_expired_grant() -> None:
    state = granted_at(T0)
    grant_id = state.consents["marketing"].event_id
    assert decided(state, T0 + TWO_YEARS, MAIL) == ("consent_expired", grant_id)


def test_when_a_late_event_is_decided_then_expiry_is_as_of_its_own_time() -> None:
    # the state was last changed long after the event; the event fell inside the first grant's
    # period, but the latest change (the renewal) is dated after it: fail closed, no_consent
    state = granted_at(T0, ("marketing", True, T0 + TWO_YEARS + timedelta(days=10)))
    assert decided(state, T0 + TWO_YEARS + timedelta(days=1), MAIL)[0] == "no_consent"


PERIODS = [
    ("730d", timedelta(days=730)),  # days
    ("8w", timedelta(weeks=8)),  # weeks
    ("2y", timedelta(days=730)),  # a year counts 365 days: never longer than the calendar
]


@pytest.mark.parametrize(("text", "length"), PERIODS)
def test_when_a_period_is_read_then_it_has_its_length(text: str, length: timedelta) -> None:
    assert period(text) == length


def test_when_a_purpose_needing_no_consent_declares_a_period_then_check_policy_names_it() -> None:
    policy = load_policy()
    purposes = tuple(
        p.model_copy(update={"consent_valid_for": "1y"}) if p.id == "fulfilment" else p
        for p in policy.purposes
    )
    faults = policy_faults(policy.model_copy(update={"purposes": purposes}))
    assert faults == ["purposes.fulfilment.consent_valid_for: the purpose needs no consent"]


def test_when_routes_of_one_topic_declare_different_retentions_then_check_policy_names_it() -> None:
    policy = load_policy()
    routes = tuple(
        r.model_copy(update={"retention": "7d"})
        if (r.recipient, r.source) == ("affectus", "orders")
        else r
        for r in policy.routes
    )
    faults = policy_faults(policy.model_copy(update={"routes": routes}))
    assert faults == [
        "routes to shared.affectus.marketing: retention differs between routes (14d, 7d); one "
        "topic keeps one retention"
    ]


@pytest.mark.parametrize(
    ("declared", "expected_group"),
    [
        # no route names a group: the topic's default
        ({}, "affectus.marketing"),
        # one route names it, the other is silent: the named one
        ({"orders": "affectus-mailings"}, "affectus-mailings"),
        # both name the same
        ({"orders": "aff", "campaign-entries": "aff"}, "aff"),
    ],
)
def test_when_routes_name_a_consumer_group_then_the_topic_is_read_by_it(
    declared: dict[str, str], expected_group: str
) -> None:
    policy = load_policy()
    routes = tuple(
        r.model_copy(update={"consumer_group": declared[r.source]})
        if r.recipient == "affectus" and r.source in declared
        else r
        for r in policy.routes
    )
    changed = policy.model_copy(update={"routes": routes})
    assert policy_faults(changed) == []
    assert changed.topic_consumer_groups()["shared.affectus.marketing"] == expected_group


def test_when_routes_of_one_topic_name_different_consumer_groups_then_check_policy_names_it() -> (
    None
):
    policy = load_policy()
    routes = tuple(
        r.model_copy(update={"consumer_group": f"aff-{r.source}"})
        if r.recipient == "affectus"
        else r
        for r in policy.routes
    )
    faults = policy_faults(policy.model_copy(update={"routes": routes}))
    assert faults == [
        "routes to shared.affectus.marketing: consumer_group differs between routes "
        "(aff-campaign-entries, aff-orders); one topic is read by one group"
    ]
