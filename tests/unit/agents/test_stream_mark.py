"""A partition's stream mark (``agents.consent_table.StreamMark``): how far the partition was
decided, kept in the consent table so that a restarted worker decides the records past it with
the stream time the worker before it had (a change dated before it is late)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agents.consent_table import STREAM_MARK_KEY, FaustStates, StreamMark
from tests.unit.agents.pipeline_fakes import FakeTable

T = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


# (records decided as (topic, offset, event time), the mark after them)
PASSED = {
    # the latest event time and the last offset per topic
    "two-topics": (
        [("orders", 4, T), ("consents", 2, T - timedelta(hours=1)), ("orders", 5, T)],
        StreamMark(T, {"orders": 5, "consents": 2}),
    ),
    # a late event leaves the time; its offset still counts
    "late-event": (
        [("orders", 1, T), ("orders", 2, T - timedelta(days=1))],
        StreamMark(T, {"orders": 2}),
    ),
    # a dead letter (no event time) covers its offset only
    "dead-letter": ([("orders", 7, None)], StreamMark(None, {"orders": 7})),
}


@pytest.mark.parametrize(("decided", "expected"), list(PASSED.values()), ids=list(PASSED))
def test_when_records_are_decided_then_the_mark_holds_the_latest_time_and_offsets(
    decided: list[tuple[str, int, datetime | None]], expected: StreamMark
) -> None:
    mark = StreamMark()
    for topic, offset, event_time in decided:
        mark.passed(topic, offset, event_time)
    assert mark == expected


# (offset of an orders record, whether the mark {orders: 5} covers it)
COVERS = {
    "decided-before": (5, True),  # read again after a crash: decided already
    "earlier": (3, True),
    "past-it": (6, False),  # new: decided with the kept stream time
}


@pytest.mark.parametrize(("offset", "covered"), list(COVERS.values()), ids=list(COVERS))
def test_when_a_record_is_read_then_the_mark_says_whether_it_was_decided(
    offset: int, covered: bool
) -> None:
    mark = StreamMark(T, {"orders": 5})
    assert mark.covers("orders", offset) is covered
    assert mark.covers("consents", 0) is False  # a topic the mark never saw


def test_when_a_mark_is_written_then_the_table_gives_it_back_and_counts_no_subject() -> None:
    table = FakeTable()
    states = FaustStates(table)
    assert states.stream_mark(1) is None
    mark = StreamMark(T, {"orders": 5, "consents": 2})
    write = states.put_stream_mark(1, mark)
    assert (write.partition, write.key) == (1, STREAM_MARK_KEY % 1)
    assert FaustStates(table).stream_mark(1) == mark  # as a new worker reads it
    assert states.subjects() == 0
