"""One step of the pipeline for one valid input event: the step every runner calls.

The Faust agents, ``purposegate dry-run``, the benchmarks and the fuzz tests all go through
``step``; nothing else tells state topics from event topics.
"""

from __future__ import annotations

from datetime import datetime

from policy.compile import CompiledPolicy
from policy.decision import Decision
from policy.engine import apply_state_event, decide
from policy.state import SubjectState
from policy.topics import STATE_TOPICS
from policy.validation import InputEvent


def step(
    event: InputEvent,
    state: SubjectState,
    compiled: CompiledPolicy,
    stream_time: datetime | None = None,
) -> tuple[SubjectState, Decision]:
    """The customer's state after ``event`` and the decision about it.

    A consent change or Section 10 request may change the state (and send withdrawal
    notices); any other event is decided on the state as it is, which is returned unchanged
    (the same object). ``stream_time``: the latest event time this runner has decided on the
    event's stream (None: none yet); a state change dated before it arrives late.
    """
    del stream_time  # read by the engine's late-state-change audit (issue 13, branch engine)
    if event.topic in STATE_TOPICS:
        return apply_state_event(event, state, compiled)
    return state, decide(event, state, compiled)
