"""One step of the pipeline for one valid input event: the step every runner calls.

The Faust agents, ``purposegate dry-run``, the benchmarks and the fuzz tests all go through
``step``; nothing else tells state topics from event topics.
"""

from __future__ import annotations

from policy.compile import CompiledPolicy
from policy.decision import Decision
from policy.engine import apply_state_event, decide
from policy.state import SubjectState
from policy.topics import STATE_TOPICS
from policy.validation import InputEvent


def step(
    event: InputEvent, state: SubjectState, compiled: CompiledPolicy
) -> tuple[SubjectState, Decision]:
    """The customer's state after ``event`` and the decision about it.

    A consent change or Section 10 request may change the state (and send withdrawal
    notices); any other event is decided on the state as it is, which is returned unchanged
    (the same object).
    """
    if event.topic in STATE_TOPICS:
        return apply_state_event(event, state, compiled)
    return state, decide(event, state, compiled)
