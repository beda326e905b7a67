"""One step of the pipeline for one valid input event: the step every runner calls.

The Faust agent, ``purposegate dry-run``, the benchmarks and the fuzz tests all go through
``step``; nothing else tells state topics from event topics.
"""

from __future__ import annotations

from datetime import datetime

from policy.decision import Decision
from policy.engine import CompiledPolicy, apply_state_event, decide
from policy.state import SubjectState
from policy.validation import InputEvent
from streams.topics import STATE_TOPICS


def step(
    event: InputEvent,
    state: SubjectState,
    compiled: CompiledPolicy,
    stream_time: datetime | None = None,
) -> tuple[SubjectState, Decision]:
    """The customer's state after ``event`` and the decision about it.

    ``stream_time`` is the latest ``event_time`` its runner decided before this event (on the
    event's partition in the worker, in the file in ``dry-run``): a state change dated before it
    arrives late, after events of a later time were already decided.
    """
    del stream_time  # the engine's late-state-change audit will read it
    if event.topic in STATE_TOPICS:
        return apply_state_event(event, state, compiled)
    return state, decide(event, state, compiled)
