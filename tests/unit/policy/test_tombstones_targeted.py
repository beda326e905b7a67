"""Tombstones only where the subject's data went (docs/contract.md §3): the state remembers which
shared topics received the subject's key, a withdrawal or verified suspension notifies those
of the affected topics only, and then forgets them. A company that never received a subject
never sees its key."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy.state import EMPTY, SubjectState
from policy.step import step
from tests.unit.policy.samples import T0, compiled, consent, entry, event, order, request

Step = tuple[str, dict[str, Any]]


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def run(steps: list[Step]) -> tuple[SubjectState, list[set[str]]]:
    """The final state and, per step, the topics its tombstones went to."""
    state, notified = EMPTY, []
    for topic, value in steps:
        state, decision = step(event(topic, value), state, compiled())
        notified.append({t.topic for t in decision.tombstones})
    return state, notified


MARKETING_JP = "shared.septem-communications.marketing"
MARKETING_SG = "shared.affectus.marketing"
SOUKEN_PD = "shared.septem-souken.product_development"
ENFINITY_PD = "shared.enfinity.product_development"
SOUKEN_RESEARCH = "shared.septem-souken.monitoring_research"
CARGO_CAMPAIGN = "shared.septem-cargo.campaign"
AU_CARRIER = "shared.sptm-international.fulfilment"

SEQUENCES: list[tuple[list[Step], set[str]]] = [
    # a first-ever marketing withdrawal of a customer in Japan: no topic had the key
    ([("consents", consent("marketing", False, at(0)))], set()),
    # a JP customer's mailing went out: only the JP mailing company hears of the withdrawal
    (
        [
            ("consents", consent("marketing", True, at(0))),
            ("orders", order(event_time=at(1))),
            ("consents", consent("marketing", False, at(2))),
        ],
        {MARKETING_JP},
    ),
    # a suspension after one order without consent: the two pseudonymised statistics topics
    (
        [
            ("orders", order(event_time=at(1))),
            ("subject-requests", request("suspend_use", True, at(2))),
        ],
        {SOUKEN_PD, ENFINITY_PD},
    ),
    # a suspension of a customer who sent nothing anywhere: no tombstone at all
    ([("subject-requests", request("suspend_use", True, at(2)))], set()),
    # withdrawing cross-border consent after an AU order went abroad (marketing not granted)
    (
        [
            ("consents", consent("cross_border", True, at(0))),
            ("orders", order(country="AU", event_time=at(1))),
            ("consents", consent("cross_border", False, at(2))),
        ],
        {AU_CARRIER},
    ),
    # a research withdrawal after a monitor entry
    (
        [
            ("consents", consent("monitoring_research", True, at(0))),
            ("campaign-entries", entry(kind="monitor", event_time=at(1))),
            ("consents", consent("monitoring_research", False, at(2))),
        ],
        {SOUKEN_RESEARCH},
    ),
    # a second withdrawal: the topic already got a withdrawal notice for the key, and the
    # state no longer counts it as fed; no second notice (its records stay until retention)
    (
        [
            ("consents", consent("marketing", True, at(0))),
            ("orders", order(event_time=at(1))),
            ("consents", consent("marketing", False, at(2))),
            ("consents", consent("marketing", False, at(3), event_id="w2")),
        ],
        set(),
    ),
    # granted again and fed again: notified again
    (
        [
            ("consents", consent("marketing", True, at(0))),
            ("orders", order(event_time=at(1))),
            ("consents", consent("marketing", False, at(2))),
            ("consents", consent("marketing", True, at(3))),
            ("orders", order(event_id="ev-order-2", event_time=at(4))),
            ("consents", consent("marketing", False, at(5))),
        ],
        {MARKETING_JP},
    ),
    # a gift entry fed the carrier's campaign topic: a suspension erases it, not fulfilment
    (
        [
            ("campaign-entries", entry(kind="gift", event_time=at(1))),
            ("orders", order(event_time=at(1))),
            ("subject-requests", request("suspend_use", True, at(2))),
        ],
        {CARGO_CAMPAIGN, SOUKEN_PD, ENFINITY_PD},
    ),
]


@pytest.mark.parametrize(("steps", "topics"), SEQUENCES)
def test_when_a_withdrawal_takes_effect_then_only_topics_that_hold_the_key_get_a_tombstone(
    steps: list[Step], topics: set[str]
) -> None:
    state, notified = run(steps)
    assert notified[-1] == topics
    assert not topics & state.fed_topics  # notified topics leave fed_topics


def test_when_an_event_feeds_no_new_topic_then_step_returns_the_same_state_object() -> None:
    fed, _ = step(event("orders", order()), EMPTY, compiled())
    assert fed is not EMPTY and fed.fed_topics
    again, _ = step(event("orders", order(event_id="ev-order-2")), fed, compiled())
    assert again is fed  # a runner writes its table only when the state is a new object


def test_when_a_withdrawal_is_replayed_then_it_notifies_the_same_topics_again() -> None:
    steps: list[Step] = [
        ("consents", consent("marketing", True, at(0))),
        ("orders", order(event_time=at(1))),
    ]
    state, _ = run(steps)
    withdrawal = event("consents", consent("marketing", False, at(2)))
    first_state, first = step(withdrawal, state, compiled())
    again_state, again = step(withdrawal, first_state, compiled())
    assert again.tombstones == first.tombstones and {t.topic for t in first.tombstones} == {
        MARKETING_JP
    }
    assert again_state == first_state


OLD_VALUES = [
    # written before fed topics and notices were remembered
    '{"consents": {"marketing": {"granted": true, "event_time": "2026-11-24T09:30:00.000Z",'
    ' "event_id": "e1"}}, "suspended": false, "suspension_time": null}',
    # older still: no event ids either
    '{"consents": {"marketing": {"granted": false, "event_time": "2026-11-24T09:30:00.000Z"}},'
    ' "suspended": true, "suspension_time": "2026-11-24T09:00:00.000Z"}',
]


@pytest.mark.parametrize("text", OLD_VALUES)
def test_when_an_old_table_value_is_read_then_it_has_no_fed_topics_and_round_trips(
    text: str,
) -> None:
    old = SubjectState.from_json(text)
    assert old.fed_topics == frozenset() and old.suspension_notified == frozenset()
    assert SubjectState.from_json(old.to_json()) == old


def test_when_state_with_fed_topics_is_stored_then_it_reads_back_equal() -> None:
    state, _ = run(
        [
            ("consents", consent("marketing", True, at(0))),
            ("orders", order(event_time=at(1))),
            ("consents", consent("marketing", False, at(2))),
            ("orders", order(event_id="ev-order-2", event_time=at(3))),
        ]
    )
    assert state.fed_topics and state.consents["marketing"].notified == {MARKETING_JP}
    assert SubjectState.from_json(state.to_json()) == state
    assert json.loads(state.to_json())["fed_topics"] == sorted(state.fed_topics)


COUNTRY = st.sampled_from(["JP", "AU", "SG"])
MINUTE = st.integers(0, 60)
SCOPE = st.sampled_from(["marketing", "monitoring_research", "cross_border"])
STEP = st.one_of(
    st.builds(lambda c, m: ("orders", order(country=c, event_time=at(m))), COUNTRY, MINUTE),
    st.builds(
        lambda k, c, m: ("campaign-entries", entry(kind=k, country=c, event_time=at(m))),
        st.sampled_from(["gift", "monitor", "questionnaire", "prize"]),
        COUNTRY,
        MINUTE,
    ),
    st.builds(lambda s, g, m: ("consents", consent(s, g, at(m))), SCOPE, st.booleans(), MINUTE),
    st.builds(
        lambda k, v, m: ("subject-requests", request(k, v, at(m))),
        st.sampled_from(["suspend_use", "resume_use"]),
        st.booleans(),
        MINUTE,
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(STEP, max_size=12))
def test_when_any_sequence_is_stepped_then_every_tombstone_targets_a_topic_that_had_the_key(
    steps: list[Step],
) -> None:
    holding: set[tuple[str, str]] = set()  # (topic, key) records went to, not notified since
    state = EMPTY
    for index, (topic, value) in enumerate(steps):
        value = {**value, "event_id": f"ev-{index}"}
        state, decision = step(event(topic, value), state, compiled())
        for tombstone in decision.tombstones:
            assert (tombstone.topic, tombstone.key) in holding
            holding.discard((tombstone.topic, tombstone.key))
        holding |= {(o.topic, o.key) for o in decision.outputs}
        assert {topic for topic, _ in holding} == state.fed_topics
