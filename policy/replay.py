"""Deciding a whole stream of events in event-time order, as the worker does on Kafka and
``dry-run`` does on a file (``diff-policy`` uses it; ``dry-run``'s own loop is the same and can
move here). Pure: no I/O.

Events are sorted, stably, by ``decision_order`` (``event_time``, then the contract's tie rank)
and then by their position in the input, and each is decided by ``step`` against its subject's
state, with the stream time before it (the latest ``event_time`` decided so far: in decision
order no state change is ever late).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TypeVar

from policy.compile import CompiledPolicy
from policy.decision import Decision
from policy.ordering import decision_order
from policy.state import SubjectState
from policy.step import step
from policy.validation import InputEvent

Tag = TypeVar("Tag")


def in_decision_order(events: Iterable[tuple[Tag, InputEvent]]) -> list[tuple[Tag, InputEvent]]:
    """``(position, event)`` pairs sorted as the worker decides them (position breaks ties)."""
    return sorted(events, key=lambda tagged: (decision_order(tagged[1]), tagged[0]))


def decide_in_order(
    events: Iterable[tuple[Tag, InputEvent]], compiled: CompiledPolicy
) -> Iterator[tuple[Tag, Decision]]:
    """Each event's decision, in decision order, every subject's state carried from one to the
    next."""
    states: dict[str, SubjectState] = {}
    stream_time: datetime | None = None
    for tag, event in in_decision_order(events):
        state = states.get(event.customer_id, SubjectState.empty())
        new_state, decision = step(event, state, compiled, stream_time)
        if new_state is not state:
            states[event.customer_id] = new_state
        if stream_time is None or event.event_time > stream_time:
            stream_time = event.event_time
        yield tag, decision
