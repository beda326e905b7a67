"""The consent state's JSON (the changelog's value): ``to_json`` writes exactly what
``json.dumps(document, sort_keys=True)`` writes of the state's document (:func:`document`,
the way it was written before it was written from pieces), for any state, and reads back
equal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType

from hypothesis import given
from hypothesis import strategies as st

from policy.state import Consent, SubjectState, _iso

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


def document(state: SubjectState) -> dict[str, object]:
    """The state as a JSON document, field by field (the reference ``to_json`` must equal)."""
    return {
        "consents": {
            scope: {
                "granted": c.granted,
                "event_time": _iso(c.event_time),
                "event_id": c.event_id,
                "notified": sorted(c.notified),
            }
            for scope, c in state.consents.items()
        },
        "suspended": state.suspended,
        "suspension_time": _iso(state.suspension_time) if state.suspension_time else None,
        "suspension_event_id": state.suspension_event_id,
        "suspension_notified": sorted(state.suspension_notified),
        "fed_topics": sorted(state.fed_topics),
    }


@given(states)
def test_when_a_state_is_written_then_it_is_json_dumps_of_its_document(
    state: SubjectState,
) -> None:
    assert state.to_json() == json.dumps(document(state), sort_keys=True)


@given(states)
def test_when_a_state_is_written_twice_then_both_read_back_equal(state: SubjectState) -> None:
    first, second = state.to_json(), state.to_json()  # the second from remembered pieces
    assert first == second
    read = SubjectState.from_json(second)
    assert read == SubjectState.from_json(first)
    assert read.to_json() == first
