"""One step of the pipeline for one valid input event: the step every runner calls.

The Faust agents, ``purposegate dry-run``, the benchmarks and the fuzz tests all go through
``step``; nothing else tells state topics from event topics. Runners keep the state it returns:
a consent change or Section 10 request changes it, and so does an ordinary event whose records
went to a shared topic that did not hold the subject's key (the state remembers where a later
withdrawal's tombstones must go, docs/contract.md §3). The state returned is the same object when
nothing changed, so a runner writes its table only when ``new is not old``; it is ``EMPTY``
when the subject is forgotten (``policy.forgetting``): the runner deletes its key and raises its
horizon to cover ``Decision.forgotten``.
"""

from __future__ import annotations

from datetime import datetime

from policy.compile import CompiledPolicy
from policy.decision import Decision
from policy.engine import apply_state_event, decide
from policy.forgetting import forgettable, newest_change
from policy.state import EMPTY, SubjectState
from policy.topics import STATE_TOPICS
from policy.validation import InputEvent


def step(
    event: InputEvent,
    state: SubjectState,
    compiled: CompiledPolicy,
    stream_time: datetime | None = None,
    horizon: datetime | None = None,
) -> tuple[SubjectState, Decision]:
    """The customer's state after ``event`` and the decision about it.

    ``stream_time``: the latest event time this runner has decided on the event's stream
    (None: none yet); a state change dated before it is audited as late. ``horizon``: the
    runner's forgetting horizon for the event's partition (None: nothing forgotten yet).
    """
    if event.topic in STATE_TOPICS:
        new_state, decision = apply_state_event(event, state, compiled, stream_time, horizon)
    else:
        decision = decide(event, state, compiled)
        new_state = state.fed([output.topic for output in decision.outputs])
    if new_state is EMPTY or not forgettable(new_state, event.event_time, compiled):
        return new_state, decision
    newest = newest_change(new_state)
    return EMPTY, decision if newest is None else decision._replace(forgotten=newest)
