"""Deciding a stream of events in event-time order, as the worker does on Kafka: the loop
``dry-run`` and ``diff-policy`` share. Pure: no I/O.

``Replay.decide`` takes the events one at a time, already in decision order (``decision_order``,
then position: ``wire.event_source`` sorts a file of any size so), and decides each by
``step`` against its subject's state, with the stream time before it (the latest ``event_time``
decided so far: in decision order no state change is ever late). A forgotten subject is removed
and the forgetting horizon raised, as the worker does per partition (``policy.forgetting``; in
decision order no grant is ever refused by it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TypeVar

from policy.compile import CompiledPolicy
from policy.decision import Decision
from policy.forgetting import raised
from policy.ordering import decision_order
from policy.state import EMPTY, SubjectState
from policy.step import step
from policy.validation import InputEvent

Tag = TypeVar("Tag")


class Replay:
    """Every subject's state, the stream time and the forgetting horizon of one run."""

    def __init__(self, compiled: CompiledPolicy) -> None:
        self.compiled = compiled
        self.states: dict[str, SubjectState] = {}
        self.stream_time: datetime | None = None
        self.horizon: datetime | None = None

    def decide(self, event: InputEvent) -> Decision:
        """The decision about ``event``, the next in decision order."""
        state = self.states.get(event.customer_id, EMPTY)
        new_state, decision = step(event, state, self.compiled, self.stream_time, self.horizon)
        if new_state is EMPTY:
            self.states.pop(event.customer_id, None)
        elif new_state is not state:
            self.states[event.customer_id] = new_state
        if decision.forgotten is not None:
            self.horizon = raised(self.horizon, decision.forgotten)
        if self.stream_time is None or event.event_time > self.stream_time:
            self.stream_time = event.event_time
        return decision


def in_decision_order(events: Iterable[tuple[Tag, InputEvent]]) -> list[tuple[Tag, InputEvent]]:
    """``(position, event)`` pairs sorted as the worker decides them (position breaks ties), in
    memory: for small streams (tests, cases)."""
    return sorted(events, key=lambda tagged: (decision_order(tagged[1]), tagged[0]))


def decide_in_order(
    events: Iterable[tuple[Tag, InputEvent]], compiled: CompiledPolicy
) -> Iterator[tuple[Tag, Decision]]:
    """Each event's decision, in decision order (sorted in memory), every subject's state
    carried from one to the next."""
    replay = Replay(compiled)
    for tag, event in in_decision_order(events):
        yield tag, replay.decide(event)
