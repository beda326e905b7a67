"""The consent state's JSON (the changelog's value): ``to_json`` writes exactly what
``json.dumps(document, sort_keys=True)`` writes, for any state, and reads back equal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType

from hypothesis import given
from hypothesis import strategies as st

from policy.state import Consent, SubjectState

texts = st.text(max_size=12)  # any code point: escapes, non-ASCII, lone surrogates
names = st.frozensets(texts, max_size=4)
zones = st.sampled_from([UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5))])
moments = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=zones
)
consents = st.builds(Consent, st.booleans(), moments, texts, names)
states = st.builds(
    SubjectState,
    consents=st.dictionaries(texts, consents, max_size=4).map(MappingProxyType),
    suspended=st.booleans(),
    suspension_time=st.none() | moments,
    suspension_event_id=texts,
    suspension_notified=names,
    fed_topics=names,
)


@given(states)
def test_when_a_state_is_written_then_it_is_json_dumps_of_its_document(
    state: SubjectState,
) -> None:
    assert state.to_json() == json.dumps(state.document(), sort_keys=True)


@given(states)
def test_when_a_state_is_written_twice_then_both_read_back_equal(state: SubjectState) -> None:
    first, second = state.to_json(), state.to_json()  # the second from remembered pieces
    assert first == second
    read = SubjectState.from_json(second)
    assert read == SubjectState.from_json(first)
    assert read.to_json() == first
