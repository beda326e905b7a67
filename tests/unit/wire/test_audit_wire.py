"""The audit record from cached pieces (``Codec.encode_audit``) is fastavro's, byte for byte:
for every decision of a synthetic stream, for hand-made edge cases, and for random decisions."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.bench_engine import BENCH_KEYS, bench_codec
from policy import topics
from policy.compile import CompiledPolicy, compile_policy
from policy.decision import Decision, RouteDecision, Tombstone
from policy.loader import load_policy
from policy.state import StateChange, SubjectState
from policy.step import step
from policy.validation import InputEvent, validate
from wire import Codec, EncodeError
from wire.sample import sample_lines

T0 = datetime(2026, 4, 1, 9, 30, 15, 123456, tzinfo=UTC)
JUST_BEFORE_1970 = datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
IN_TOKYO = datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=9)))


@cache
def compiled() -> CompiledPolicy:
    return compile_policy(load_policy(), BENCH_KEYS)


@cache
def codec() -> Codec:
    return bench_codec(compiled())  # single-object, bound to the policy's topics


def fastavro_bytes(decision: Decision) -> bytes:
    return codec().encode_for(topics.AUDIT, decision.audit_record())


def stream_decisions() -> list[Decision]:
    """Every decision of a synthetic stream, state events (with late ones) included."""
    states: dict[str, SubjectState] = {}
    latest: datetime | None = None
    decisions = []
    for line in sample_lines(seed=7, customers=40, events=1500):
        document = json.loads(line)
        checked = validate(document["topic"], document["value"], compiled(), T0 + timedelta(1))
        if not isinstance(checked, InputEvent):
            continue
        state = states.get(checked.customer_id, SubjectState.empty())
        new_state, decision = step(checked, state, compiled(), latest)
        states[checked.customer_id] = new_state
        latest = max(latest or checked.event_time, checked.event_time)
        decisions.append(decision)
    return decisions


def test_when_a_stream_is_decided_then_every_audit_record_is_fastavros() -> None:
    decisions = stream_decisions()
    assert {d.state_change is not None for d in decisions} == {True, False}
    assert any(d.tombstones for d in decisions)
    for decision in decisions:
        assert codec().encode_audit(decision) == fastavro_bytes(decision)


BLOCKED = RouteDecision("r", "p", "shared.r.p", "blocked", "no_consent", (), (), (), "")
FORWARDED = RouteDecision("r", "p", "shared.r.p", "forwarded", "permitted", ("a", "b"), ("c",))
BASE = Decision("e1", T0, "orders", "C1", ("p",), "v1", (FORWARDED,), ())
CHANGE = StateChange("consent_withdrawn", "marketing", "recorded")


@pytest.mark.parametrize(
    "decision",
    [
        BASE,  # one forwarded route
        BASE._replace(
            event_time=datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
        ),  # before 1970
        BASE._replace(
            event_time=datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=9)))
        ),  # not UTC
        BASE._replace(decisions=(BLOCKED, BLOCKED._replace(cause_event_id="c9"))),  # causes
        BASE._replace(decisions=(), purposes=()),  # nothing considered
        BASE._replace(customer_id="顧客-ü" * 40, event_id="é" * 70),  # multi-byte, long
        BASE._replace(unclassified_fields=("items[].x", "zz")),  # unclassified fields
        BASE._replace(  # content inspection's finds on a forwarded route (not memoised)
            decisions=(
                FORWARDED._replace(
                    content_redactions=(("answers{}.key", "email"), ("gender", "phone"))
                ),
                FORWARDED,
            )
        ),
        BASE._replace(  # a late withdrawal with its notices (two to one topic)
            decisions=(),
            purposes=(),
            state_change=CHANGE,
            late=True,
            tombstones=(
                Tombstone("shared.b", "k", "r"),
                Tombstone("shared.a", "k", "r"),
                Tombstone("shared.a", "k2", "r"),
            ),
        ),  # fmt: skip
        BASE._replace(purposes=["p"]),  # type: ignore[arg-type] # a list where a tuple is meant: fastavro writes it
        BASE._replace(late=1),  # type: ignore[arg-type] # not a boolean: fastavro judges
    ],
)
def test_when_a_decision_is_encoded_then_the_bytes_are_fastavros(decision: Decision) -> None:
    assert codec().encode_audit(decision) == fastavro_bytes(decision)


@pytest.mark.parametrize(
    "decision",
    [
        BASE._replace(customer_id="\ud800"),  # a lone surrogate
        BASE._replace(event_time=datetime(2026, 1, 1)),  # naive: fastavro's local time, not ours
        BASE._replace(event_id=None),  # type: ignore[arg-type] # not a string
    ],
)
def test_when_fastavro_refuses_then_encode_audit_refuses_alike(decision: Decision) -> None:
    assert outcome(codec().encode_audit, decision) == outcome(fastavro_bytes, decision)


def outcome(encode: Callable[[Decision], bytes], decision: Decision) -> object:
    """The bytes, or the text of the ``EncodeError``."""
    try:
        return encode(decision)
    except EncodeError as exc:
        return str(exc)


TEXT = st.text(max_size=12)
ROUTES = st.builds(
    RouteDecision,
    TEXT, TEXT, TEXT, st.sampled_from(["forwarded", "blocked"]), TEXT,
    st.lists(TEXT, max_size=3).map(tuple), st.lists(TEXT, max_size=3).map(tuple),
    st.just(()), st.none() | TEXT,
)  # fmt: skip
TIMES = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
CHANGES = st.none() | st.builds(
    StateChange,
    st.sampled_from(["consent_granted", "consent_withdrawn", "suspend_use", "resume_use"]),
    st.none() | TEXT, st.sampled_from(["recorded", "rejected", "superseded", "refused"]),
)  # fmt: skip
DECISIONS = st.builds(
    Decision,
    TEXT, TIMES, TEXT, TEXT, st.lists(TEXT, max_size=4).map(tuple), TEXT,
    st.lists(ROUTES, max_size=6).map(tuple), st.just(()),
    st.lists(st.builds(Tombstone, TEXT, TEXT, TEXT), max_size=3).map(tuple),
    st.lists(TEXT, max_size=3).map(tuple), CHANGES, st.booleans(),
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(DECISIONS)
def test_when_any_decision_is_encoded_then_the_bytes_are_fastavros(decision: Decision) -> None:
    # a lone surrogate in a text: both refuse alike
    assert outcome(codec().encode_audit, decision) == outcome(fastavro_bytes, decision)
