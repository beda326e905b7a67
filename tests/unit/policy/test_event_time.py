"""Every event is decided against its subject's state as of the event's time (docs/contract.md §2):
a grant dated after the event does not apply back (the state before it is unknown: fail
closed), a withdrawal blocks whatever its date, a suspension in force or a resumption dated
after the event blocks; decisions against newer state and state changes recorded after later
events are audited as ``late``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from policy.decision import Decision
from policy.engine import decide
from policy.state import EMPTY, SubjectState
from policy.step import step
from tests.unit.policy.samples import T0, compiled, consent, event, order, request
from wire import Codec, Decoded, SchemaStore

BEFORE, AFTER = T0 - timedelta(hours=1), T0 + timedelta(hours=1)


def with_changes(*changes: tuple[str, dict[str, Any]]) -> SubjectState:
    state = EMPTY
    for topic, value in changes:
        state, _ = step(event(topic, value), state, compiled())
    return state


def outcome(state: SubjectState, at: datetime, recipient: str, country: str = "JP") -> str:
    decision = decide(event("orders", order(event_time=at, country=country)), state, compiled())
    (route,) = [d for d in decision.decisions if d.recipient == recipient]
    return route.reason


GRANTED_AT_T0 = with_changes(("consents", consent("marketing", True, T0)))
WITHDRAWN_AT_T0 = with_changes(
    ("consents", consent("marketing", True, BEFORE - timedelta(hours=1))),
    ("consents", consent("marketing", False, T0)),
)
SUSPENDED_AT_T0 = with_changes(
    ("consents", consent("marketing", True, BEFORE - timedelta(hours=1))),
    ("subject-requests", request("suspend_use", True, T0)),
)
RESUMED_AT_T0 = with_changes(
    ("consents", consent("marketing", True, BEFORE - timedelta(hours=1))),
    ("subject-requests", request("suspend_use", True, BEFORE - timedelta(minutes=30))),
    ("subject-requests", request("resume_use", True, T0)),
)
ABROAD_AT_T0 = with_changes(
    ("consents", consent("marketing", True, BEFORE - timedelta(hours=1))),
    ("consents", consent("cross_border", True, T0)),
)

AS_OF = [
    # a grant dated after the event does not apply back to it
    (GRANTED_AT_T0, BEFORE, "septem-communications", "JP", "no_consent"),
    # a grant applies from its own time on (a state change first at equal times)
    (GRANTED_AT_T0, T0, "septem-communications", "JP", "permitted"),
    (GRANTED_AT_T0, AFTER, "septem-communications", "JP", "permitted"),
    # a withdrawal blocks whatever its date, even for an event before it
    (WITHDRAWN_AT_T0, BEFORE, "septem-communications", "JP", "no_consent"),
    (WITHDRAWN_AT_T0, AFTER, "septem-communications", "JP", "no_consent"),
    # a suspension in force blocks events before and after it
    (SUSPENDED_AT_T0, BEFORE, "septem-communications", "JP", "use_suspended"),
    (SUSPENDED_AT_T0, AFTER, "septem-communications", "JP", "use_suspended"),
    # ... but never fulfilment
    (SUSPENDED_AT_T0, BEFORE, "septem-cargo", "JP", "permitted"),
    # a resumption dated after the event: the event fell in the suspension (or before it)
    (RESUMED_AT_T0, BEFORE, "septem-communications", "JP", "use_suspended"),
    (RESUMED_AT_T0, AFTER, "septem-communications", "JP", "permitted"),
    # a cross-border grant dated after the event does not apply back either
    (ABROAD_AT_T0, BEFORE, "affectus", "SG", "cross_border_consent_missing"),
    (ABROAD_AT_T0, AFTER, "affectus", "SG", "permitted"),
]


@pytest.mark.parametrize(("state", "at", "recipient", "country", "reason"), AS_OF)
def test_when_an_event_is_decided_then_the_state_as_of_its_time_applies(
    state: SubjectState, at: datetime, recipient: str, country: str, reason: str
) -> None:
    assert outcome(state, at, recipient, country) == reason


LATE_EVENTS = [
    # the state holds a change dated after the event: decided against newer state
    (GRANTED_AT_T0, BEFORE, True),
    (RESUMED_AT_T0, BEFORE, True),
    # no change after the event
    (GRANTED_AT_T0, T0, False),
    (GRANTED_AT_T0, AFTER, False),
    # no state at all
    (EMPTY, BEFORE, False),
]


@pytest.mark.parametrize(("state", "at", "late"), LATE_EVENTS)
def test_when_an_event_is_older_than_the_state_then_its_audit_says_late(
    state: SubjectState, at: datetime, late: bool
) -> None:
    decision = decide(event("orders", order(event_time=at)), state, compiled())
    assert decision.audit_record()["late"] is late


def change(value: dict[str, Any], topic: str, state: SubjectState, stream: datetime | None) -> Any:
    return step(event(topic, value), state, compiled(), stream)[1]


FED = with_changes(
    ("consents", consent("marketing", True, BEFORE - timedelta(hours=2))),
    ("orders", order(event_time=BEFORE - timedelta(hours=1))),
)
STATE_CHANGES = [
    # a grant after later events were decided: recorded, nothing forwarded retroactively
    (
        "consents", consent("marketing", True, T0), EMPTY, AFTER, True,
        "consent marketing granted: recorded (late: later events were already decided; "
        "nothing is forwarded retroactively)",
    ),
    # a withdrawal after later events: its tombstones still go
    (
        "consents", consent("marketing", False, T0), FED, AFTER, True,
        "consent marketing withdrawn: recorded (late: later events were already decided; "
        "notices go where the key is); withdrawal notices to 1 shared topic(s)",
    ),
    # a suspension after later events
    (
        "subject-requests", request("suspend_use", True, T0), FED, AFTER, True,
        "suspend_use: recorded (late: later events were already decided; notices go where the "
        "key is); withdrawal notices to 3 shared topic(s)",
    ),
    # in order (the stream is not ahead): not late
    ("consents", consent("marketing", True, T0), EMPTY, T0, False,
     "consent marketing granted: recorded"),  # fmt: skip
    ("consents", consent("marketing", True, T0), EMPTY, BEFORE, False,
     "consent marketing granted: recorded"),  # fmt: skip
    # nothing decided yet on the stream
    ("consents", consent("marketing", True, T0), EMPTY, None, False,
     "consent marketing granted: recorded"),  # fmt: skip
    # a late rejected request is late, and still rejected
    ("subject-requests", request("suspend_use", False, T0), EMPTY, AFTER, True,
     "suspend_use: rejected (identity not verified)"),  # fmt: skip
]  # fmt: skip


@pytest.mark.parametrize(("topic", "value", "state", "stream", "late", "text"), STATE_CHANGES)
def test_when_a_state_change_arrives_after_later_events_then_it_is_audited_as_late(
    topic: str,
    value: dict[str, Any],
    state: SubjectState,
    stream: datetime | None,
    late: bool,
    text: str,
) -> None:
    decision: Decision = change(value, topic, state, stream)
    audit = decision.audit_record()
    assert (audit["late"], audit["state_change"]) == (late, text)
    assert decision.outputs == ()


def test_when_late_is_audited_then_the_audit_record_encodes_it() -> None:
    codec = Codec(SchemaStore.load())
    audit = decide(event("orders", order(event_time=BEFORE)), GRANTED_AT_T0, compiled())
    record = audit.audit_record()
    decoded = codec.decode(codec.encode("AuditRecord", record, strict=True))
    assert isinstance(decoded, Decoded) and decoded.value["late"] is True
