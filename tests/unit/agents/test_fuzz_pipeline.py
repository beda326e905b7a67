"""Fuzzing (Hypothesis): no input crashes the decoder, the validator, the engine or the agent's
``check`` / ``records_for`` steps. Every byte string becomes a record or a DLQ entry, never an
exception.

The steps are pure but for the consent table, so they run here with a dict as the table and a
stand-in for Faust's message: no broker needed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flow.path import Outgoing, check
from policy import topics
from policy.decision import Decision
from policy.state import SubjectState
from policy.step import step
from policy.validation import InputEvent, validate
from tests.unit.agents.pipeline_fakes import (
    VALID,
    DictStates,
    FakeMessage,
    codec,
    encoded,
    message,
    records_of,
    runtime,
)
from tests.unit.policy.samples import (
    NOW,
    compiled,
    consent,
    everything_granted,
)
from wire import Decoded, DecodeError
from wire.deadletter import dead_letter_record

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOPIC = st.sampled_from(topics.INPUT_TOPICS)
SCALAR = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.binary(max_size=20)
    | st.datetimes(timezones=st.none() | st.just(UTC))
)
ANY_VALUE = st.recursive(
    SCALAR,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def mutated(draw: st.DrawFn, record: bytes) -> bytes:
    """A valid record with a few bytes flipped, cut off, or inserted."""
    data = bytearray(record)
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if how == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif how == "truncate":
            del data[at:]
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif data:
            del data[at]
    return bytes(data)


def any_wire_bytes() -> st.SearchStrategy[bytes]:
    return st.one_of(
        # arbitrary bytes
        st.binary(max_size=300),
        # a valid header (single-object magic and a known fingerprint) on arbitrary bytes
        TOPIC.flatmap(lambda t: st.binary(max_size=200).map(lambda b: encoded(t)[:10] + b)),
        # valid records of every topic, mutated
        TOPIC.flatmap(lambda t: mutated(encoded(t))),
    )


@FUZZ
@given(data=any_wire_bytes())
def test_when_any_bytes_are_decoded_then_a_record_or_a_decode_error_comes_back(
    data: bytes,
) -> None:
    result = codec().decode(data)
    assert isinstance(result, Decoded | DecodeError)
    if isinstance(result, DecodeError):
        record = dead_letter_record(result, "orders", 0, 0, data)
        assert record["raw"] == data and record["error"]


@st.composite
def damaged_value(draw: st.DrawFn, topic: str) -> dict[str, Any]:
    """A valid value of ``topic`` with fields replaced by anything, removed, or added."""
    value = VALID[topic]()
    names = sorted(value)
    for name in draw(st.lists(st.sampled_from(names), max_size=4, unique=True)):
        value[name] = draw(ANY_VALUE)
    for name in draw(st.lists(st.sampled_from(names), max_size=2, unique=True)):
        value.pop(name, None)
    value.update(draw(st.dictionaries(st.text(max_size=10), ANY_VALUE, max_size=2)))
    return value


def decided(checked: InputEvent, state: SubjectState) -> Decision:
    return step(checked, state, compiled())[1]


@FUZZ
@given(data=st.data(), topic=TOPIC)
@pytest.mark.parametrize(
    "state",
    [
        SubjectState.empty(),  # no consent at all
        everything_granted(),  # every consent scope granted
    ],
)
def test_when_any_values_are_validated_and_decided_then_nothing_raises(
    data: st.DataObject, topic: str, state: SubjectState
) -> None:
    value = data.draw(damaged_value(topic))
    checked = validate(topic, value, compiled(), NOW)
    if isinstance(checked, InputEvent):
        decision = decided(checked, state)
        decision.audit_record()  # the audit record is built from every decision


def wire_message() -> st.SearchStrategy[tuple[str, bytes | None, bytes]]:
    key = st.sampled_from([b"cust-1", b"cust-2", b""]) | st.none() | st.binary(max_size=8)
    valid = TOPIC.flatmap(lambda t: st.tuples(st.just(t), st.just(b"cust-1"), st.just(encoded(t))))
    return valid | st.tuples(TOPIC, key, any_wire_bytes())


def processed(table: DictStates, message: FakeMessage) -> list[Outgoing]:
    """``check`` then ``records_for``, as the agent calls them."""
    records, writes = records_of(runtime(), table, check(runtime(), message))
    assert writes == []
    return records


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=st.lists(wire_message(), min_size=1, max_size=12))
def test_when_any_stream_of_messages_is_processed_then_each_ends_in_audit_or_dlq(
    stream: list[tuple[str, bytes | None, bytes]],
) -> None:
    table = DictStates()
    for offset, (topic, key, value) in enumerate(stream):
        out = processed(table, message(topic, key, value, offset))
        dead = [o for o in out if o.dlq_kind is not None]
        if dead:
            # one DLQ record and nothing else: a bad input forwards nothing
            assert len(out) == 1 and out[0].topic == topics.DLQ
            letter = codec().decode(out[0].value)
            assert isinstance(letter, Decoded) and letter.value["raw"] == value
        else:
            assert out[-1].topic == topics.AUDIT
            assert sum(o.topic == topics.AUDIT for o in out) == 1
        assert all(isinstance(k, bytes) and isinstance(v, bytes) for k, v in table.items())


def test_when_a_valid_consent_then_order_are_processed_then_the_table_holds_the_state() -> None:
    table = DictStates()
    at = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    grant = codec().encode("ConsentChange", consent("marketing", True, at))
    processed(table, message(topics.CONSENTS, b"cust-1", grant, 0))
    assert b"cust-1" in table
    out = processed(table, message(topics.ORDERS, b"cust-1", encoded(topics.ORDERS), 1))
    assert any(o.topic == "shared.septem-communications.marketing" for o in out)
