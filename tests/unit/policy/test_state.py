"""Consent and Section 10 state: latest event_time wins, unverified requests change nothing,
withdrawals and suspensions send tombstones, and the state survives a JSON round trip."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from policy.engine import apply_state_event, decide
from policy.state import EMPTY, SubjectState, apply_consent, apply_subject_request
from policy.step import step
from tests.unit.policy.samples import (
    T0,
    TEST_KEYS,
    all_shared,
    compiled,
    consent,
    event,
    everything_granted,
    order,
    request,
    state,
)

EARLY = T0 - timedelta(hours=1)
LATE = T0 + timedelta(hours=1)


def run(*values: tuple[str, dict[str, Any]], start: SubjectState = EMPTY) -> SubjectState:
    current = start
    for topic, value in values:
        current, _ = apply_state_event(event(topic, value), current, compiled())
    return current


CONSENT_ORDER = [
    # no change at all: not consented
    ((), False),
    # a grant is a grant
    ((("marketing", True, T0),), True),
    # grant then a later withdrawal: withdrawn
    ((("marketing", True, T0), ("marketing", False, LATE)), False),
    # a withdrawal that happened earlier but arrives later does not undo the grant
    ((("marketing", True, T0), ("marketing", False, EARLY)), True),
    # a grant that happened earlier but arrives later does not undo the withdrawal
    ((("marketing", False, T0), ("marketing", True, EARLY)), False),
    # at the same instant, withdrawal beats grant whichever arrives last
    ((("marketing", False, T0), ("marketing", True, T0)), False),
    ((("marketing", True, T0), ("marketing", False, T0)), False),
    # another scope does not count
    ((("skin_support", True, T0),), False),
]


@pytest.mark.parametrize(("changes", "granted"), CONSENT_ORDER)
def test_when_consent_changes_arrive_then_the_latest_by_event_time_wins(
    changes: tuple[tuple[str, bool, Any], ...], granted: bool
) -> None:
    final = run(*(("consents", consent(s, g, at)) for s, g, at in changes))
    assert final.granted("marketing") is granted


SUSPENSION = [
    # a verified suspension suspends
    ((("suspend_use", True, T0),), True),
    # an unverified suspension changes nothing
    ((("suspend_use", False, T0),), False),
    # verified suspend then verified resume
    ((("suspend_use", True, T0), ("resume_use", True, LATE)), False),
    # an unverified resume does not lift a suspension
    ((("suspend_use", True, T0), ("resume_use", False, LATE)), True),
    # a resume that happened before the suspension does not lift it
    ((("suspend_use", True, T0), ("resume_use", True, EARLY)), True),
    # at the same instant, suspension beats resumption
    ((("suspend_use", True, T0), ("resume_use", True, T0)), True),
]


@pytest.mark.parametrize(("requests", "suspended"), SUSPENSION)
def test_when_section10_requests_arrive_then_only_verified_ones_count(
    requests: tuple[tuple[str, bool, Any], ...], suspended: bool
) -> None:
    final = run(*(("subject-requests", request(k, v, at)) for k, v, at in requests))
    assert final.suspended is suspended


OUTCOMES = [
    # a new consent is recorded
    ("consents", consent("marketing", True), EMPTY, "consent marketing granted: recorded"),
    # an older consent than the one in force is superseded
    (
        "consents",
        consent("marketing", True, T0 - timedelta(days=2)),
        state(denied=("marketing",)),
        "consent marketing granted: superseded (older than the change in force)",
    ),
    # an unverified request is rejected
    (
        "subject-requests",
        request("suspend_use", False),
        EMPTY,
        "suspend_use: rejected (identity not verified)",
    ),
]


@pytest.mark.parametrize(("topic", "value", "before", "text"), OUTCOMES)
def test_when_state_event_is_applied_then_audit_records_the_change(
    topic: str, value: dict[str, Any], before: SubjectState, text: str
) -> None:
    _, decision = apply_state_event(event(topic, value), before, compiled())
    audit = decision.audit_record()
    assert audit["state_change"].startswith(text)
    assert audit["decisions"] == [] and audit["purposes"] == []
    assert audit["event_id"] == value["event_id"]


def test_when_request_is_unverified_then_state_is_unchanged_object() -> None:
    before = state("marketing")
    after, decision = apply_state_event(
        event("subject-requests", request("suspend_use", False)), before, compiled()
    )
    assert after is before
    assert decision.tombstones == ()


TOMBSTONES = [
    # (each subject here had records on every shared topic; see test_tombstones_targeted.py)
    # withdrawing marketing consent: both marketing topics, keyed by customer id
    (
        "consents",
        consent("marketing", False),
        state("marketing", fed=all_shared()),
        {"shared.septem-communications.marketing", "shared.affectus.marketing"},
        "consent_withdrawn:marketing",
    ),
    # withdrawing research consent: Souken's research topic
    (
        "consents",
        consent("monitoring_research", False),
        state("monitoring_research", fed=all_shared()),
        {"shared.septem-souken.monitoring_research"},
        "consent_withdrawn:monitoring_research",
    ),
    # withdrawing cross-border consent: every topic of a recipient outside JP
    (
        "consents",
        consent("cross_border", False),
        state("cross_border", fed=all_shared()),
        {"shared.sptm-international.fulfilment", "shared.affectus.marketing"},
        "consent_withdrawn:cross_border",
    ),
    # a verified suspension: every topic of a purpose that does not survive suspension
    (
        "subject-requests",
        request("suspend_use", True),
        state(fed=all_shared()),
        {
            "shared.septem-communications.marketing",
            "shared.affectus.marketing",
            "shared.septem-cargo.campaign",
            "shared.septem-souken.monitoring_research",
            "shared.septem-souken.product_development",
            "shared.enfinity.product_development",
        },
        "use_suspended",
    ),
    # a grant sends nothing
    ("consents", consent("marketing", True), EMPTY, set(), None),
    # a withdrawal older than the grant in force sends nothing
    (
        "consents",
        consent("marketing", False, EARLY - timedelta(days=2)),
        state("marketing", fed=all_shared()),
        set(),
        None,
    ),
    # an unverified suspension sends nothing
    ("subject-requests", request("suspend_use", False), EMPTY, set(), None),
    # a resumption sends nothing
    ("subject-requests", request("resume_use", True), state(suspended=True), set(), None),
    # withdrawing a consent no route depends on sends nothing
    ("consents", consent("campaign", False), EMPTY, set(), None),
]


@pytest.mark.parametrize(("topic", "value", "before", "topics", "reason"), TOMBSTONES)
def test_when_withdrawal_takes_effect_then_tombstones_go_to_every_affected_topic(
    topic: str,
    value: dict[str, Any],
    before: SubjectState,
    topics: set[str],
    reason: str | None,
) -> None:
    _, decision = apply_state_event(event(topic, value), before, compiled())
    assert {t.topic for t in decision.tombstones} == topics
    assert len({(t.topic, t.key) for t in decision.tombstones}) == len(decision.tombstones)
    for tombstone in decision.tombstones:
        assert tombstone.reason == reason
        pseudonymised = tombstone.topic.startswith(("shared.septem-souken.", "shared.enfinity."))
        recipient = tombstone.topic.split(".")[1]
        assert tombstone.key == TEST_KEYS.pseudonymiser(recipient)("cust-1")  # its subject id
        assert (tombstone.event_id != value["event_id"]) is pseudonymised


def test_when_tombstone_is_on_a_pseudonymised_topic_then_its_key_matches_the_records() -> None:
    fed, decided = step(event("orders", order()), EMPTY, compiled())
    _, suspension = apply_state_event(
        event("subject-requests", request("suspend_use", True, LATE)), fed, compiled()
    )
    output_keys = {(o.topic, o.key) for o in decided.outputs if o.topic.endswith("development")}
    tombstone_keys = {(t.topic, t.key) for t in suspension.tombstones}
    assert output_keys <= tombstone_keys


def test_when_tombstone_is_on_a_named_topic_then_its_key_is_the_records_subject_id() -> None:
    fed, decided = step(event("orders", order()), everything_granted(), compiled())
    _, withdrawal = apply_state_event(
        event("consents", consent("marketing", False, LATE)), fed, compiled()
    )
    output_keys = {(o.topic, o.key) for o in decided.outputs if o.topic.endswith("marketing")}
    assert output_keys
    assert output_keys == {(t.topic, t.key) for t in withdrawal.tombstones}


def test_when_consent_is_withdrawn_then_the_next_event_is_blocked() -> None:
    current = run(("consents", consent("marketing", True, EARLY)))
    current = run(("consents", consent("marketing", False, T0)), start=current)
    decision = decide(event("orders", order(event_time=LATE)), current, compiled())
    marketing = [d for d in decision.decisions if d.purpose == "marketing"]
    assert [(d.outcome, d.reason) for d in marketing] == [("blocked", "no_consent")]


STATES = [
    # nothing
    EMPTY,
    # consents granted and withdrawn, suspended
    state("marketing", "cross_border", suspended=True, denied=("skin_support",)),
]


@pytest.mark.parametrize("subject", STATES)
def test_when_state_is_stored_as_json_then_it_reads_back_equal(subject: SubjectState) -> None:
    assert SubjectState.from_json(subject.to_json()) == subject


def test_when_reducer_applies_then_the_old_state_is_not_mutated() -> None:
    before = state("marketing")
    snapshot = before.to_json()
    apply_consent(before, "marketing", False, LATE)
    apply_subject_request(before, "suspend_use", True, LATE)
    assert before.to_json() == snapshot


REPLAYS = [
    # a withdrawal replayed after a crash: recorded again, with its withdrawal notices again
    ("consents", consent("marketing", False, T0), state("marketing")),
    # a grant replayed: recorded again
    ("consents", consent("marketing", True, T0), EMPTY),
    # a verified suspension replayed: recorded again, notices again
    ("subject-requests", request("suspend_use", True, T0), EMPTY),
    # a verified resumption replayed
    ("subject-requests", request("resume_use", True, LATE), state(suspended=True)),
]


@pytest.mark.parametrize(("topic", "value", "before"), REPLAYS)
def test_when_a_state_event_is_replayed_then_its_audit_and_notices_repeat_and_state_stays(
    topic: str, value: dict[str, Any], before: SubjectState
) -> None:
    first_state, first = apply_state_event(event(topic, value), before, compiled())
    again_state, again = apply_state_event(event(topic, value), first_state, compiled())
    assert again_state == first_state
    assert again.audit_record() == first.audit_record()
    assert again.tombstones == first.tombstones
    assert "superseded" not in str(again.audit_record()["state_change"])


def test_when_another_event_has_the_same_time_then_it_is_not_taken_for_a_replay() -> None:
    withdrawn, _ = apply_consent(EMPTY, "marketing", False, T0, "ev-a")
    after, change = apply_consent(withdrawn, "marketing", True, T0, "ev-b")
    assert change.outcome == "superseded"
    assert not after.granted("marketing")
