"""When the consent table may forget a subject, and the horizon that keeps forgetting safe.

A subject is forgotten (its table key deleted: a tombstone on the changelog) when its state
can no longer change any decision about an event in time order: every consent withdrawn or
expired, no Section 10 request ever verified, no shared topic that a later withdrawal or
suspension would have to notify, and every change older than ``forget_after`` (policy data)
as of the event being decided. It is decided in ``step``, as of the subject's own event's
``event_time``, so the worker and ``dry-run`` forget at the same event (docs/pipeline.md).

Fail closed against late changes: the latest change per scope wins, so forgetting a withdrawal
at W would let a grant dated before W, arriving later, become the latest. So each runner keeps
a *horizon* per partition (the worker in its table, persisted; ``dry-run`` one for the file):
the day after the newest change it forgot. A grant dated at or before the horizon is refused
(``StateChange`` outcome ``refused``): it is older than what was forgotten, and more than
``forget_after`` minus a day late. In event-time order (``dry-run``, a worker on an in-order
backlog) no grant is ever that late, so both decide the same.

>>> from datetime import datetime, UTC
>>> raised(None, datetime(2026, 1, 2, 9, 30, tzinfo=UTC))
datetime.datetime(2026, 1, 3, 0, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Final

from policy.compile import CompiledPolicy
from policy.state import EMPTY, SubjectState

_MIDNIGHT: Final = time(0, 0, tzinfo=UTC)


def forgettable(state: SubjectState, at: datetime, compiled: CompiledPolicy) -> bool:
    """Whether ``state`` may be forgotten after an event at ``at``."""
    if state is EMPTY or state.suspension_time is not None or state.suspended:
        return False  # a Section 10 history is kept: late events in a suspension stay blocked
    if state.fed_topics & compiled.erasable_topics:
        return False  # a later withdrawal or suspension owes these topics a tombstone
    oldest_kept = at - compiled.forget_after
    validity = compiled.consent_validity
    for scope, consent in state.consents.items():
        if consent.event_time > oldest_kept:
            return False
        valid_for = validity.get(scope)
        if consent.granted and (valid_for is None or consent.event_time + valid_for > at):
            return False  # a grant in force (or one that never expires)
    return True


def newest_change(state: SubjectState) -> datetime | None:
    """The time of the newest consent change or Section 10 request the state holds."""
    times = [c.event_time for c in state.consents.values()]
    if state.suspension_time is not None:
        times.append(state.suspension_time)
    return max(times) if times else None


def raised(horizon: datetime | None, forgotten: datetime) -> datetime:
    """The horizon after forgetting a change at ``forgotten``: the next midnight (UTC) after
    it, or the horizon as it was when later (a day's granularity: one write a day at most)."""
    day_after = datetime.combine(forgotten.astimezone(UTC).date(), _MIDNIGHT) + timedelta(days=1)
    return day_after if horizon is None or day_after > horizon else horizon


def too_late(event_time: datetime, horizon: datetime | None) -> bool:
    """A grant dated at or before the horizon may be older than a change forgotten: refused."""
    return horizon is not None and event_time <= horizon
