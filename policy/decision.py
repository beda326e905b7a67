"""What the engine decided about one input event, and the audit record that says so.

Plain immutable tuples: the engine builds one per event on the hot path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal, NamedTuple

from policy.state import StateChange

OutcomeName = Literal["forwarded", "blocked"]
#: ``permitted`` forwards; every other reason blocks (docs/contract.md §4).
Reason = Literal[
    "permitted", "no_consent", "consent_expired", "cross_border_consent_missing", "use_suspended",
    "not_shared_item",
]  # fmt: skip


#: Every reason that blocks a route.
BLOCKING_REASONS: Final[tuple[Reason, ...]] = (
    "no_consent", "consent_expired", "cross_border_consent_missing", "use_suspended",
    "not_shared_item",
)  # fmt: skip


class RouteDecision(NamedTuple):
    """One route considered for one event: forwarded or blocked, and why."""

    recipient: str
    purpose: str
    topic: str
    outcome: OutcomeName
    reason: Reason
    fields_sent: tuple[str, ...]
    fields_redacted: tuple[str, ...]
    #: Data categories of ``fields_redacted`` (low-cardinality, for metrics); not audited.
    redacted_categories: tuple[str, ...] = ()
    #: A block caused by the subject's state: the event id of the consent change or Section 10
    #: request behind it; None when there is none (the subject never consented to the scope)
    #: and for other outcomes; "" when the state did not record it.
    cause_event_id: str | None = None
    #: A forwarded decision's record of provision (``policy.provision``): its basis
    #: (``consent:<event id>``, ``contract``, ...) and the subject id the recipient got;
    #: None when blocked.
    basis: str | None = None
    subject_id: str | None = None
    #: Forwarded: each find of content inspection in what went, as (path, detector), never
    #: the value (docs/contract.md §3, ``policy.free_form``).
    content_redactions: tuple[tuple[str, str], ...] = ()

    def audit(self) -> dict[str, Any]:
        return {
            "recipient": self.recipient,
            "purpose": self.purpose,
            "topic": self.topic,
            "outcome": self.outcome,
            "reason": self.reason,
            "fields_sent": list(self.fields_sent),
            "fields_redacted": list(self.fields_redacted),
            "cause_event_id": self.cause_event_id,
            "basis": self.basis,
            "subject_id": self.subject_id,
            "content_redactions": [
                {"path": path, "detector": detector} for path, detector in self.content_redactions
            ],
        }


#: Where a forwarded decision's record of provision starts (basis, subject id, redactions).
PROVISION_AT: Final = RouteDecision._fields.index("basis")


class Output(NamedTuple):
    """A record for ``shared.<recipient>.<purpose>``: key (the recipient's subject id) and value,
    and the name of its route's output record, which the codec writes it with."""

    topic: str
    key: str
    value: dict[str, Any]
    purpose: str
    recipient: str
    schema: str
    #: A pseudonymised route: its Kafka record timestamp must be as coarse as its
    #: ``event_time`` (the day), or the send time would join it back to the named records
    #: the same event produced for other recipients (docs/contract.md §3).
    coarse_time: bool = False


class Tombstone(NamedTuple):
    """An erasure notice: a null value on a shared topic, keyed like the subject's records there.
    The recipient must forget this key. The topic is not compacted (``cleanup.policy=delete``):
    the records before it stay on the broker until its bound (``policy.erasure``)."""

    topic: str
    key: str
    reason: str
    #: The ``purposegate-event-id`` header: the withdrawal's event id, or on a pseudonymised
    #: topic the recipient-keyed HMAC of it (as that topic's records carry).
    event_id: str = ""
    #: On a pseudonymised topic: a Kafka timestamp truncated to the day, as its records have.
    coarse_time: bool = False


class Decision(NamedTuple):
    """Everything one input event led to. ``audit_record()`` is its ``purposegate.audit`` value."""

    event_id: str
    event_time: datetime
    source_topic: str
    customer_id: str
    purposes: tuple[str, ...]
    policy_version: str
    decisions: tuple[RouteDecision, ...]
    outputs: tuple[Output, ...]
    tombstones: tuple[Tombstone, ...] = ()
    unclassified_fields: tuple[str, ...] = ()
    state_change: StateChange | None = None
    #: Decided against newer state (an event: the state holds a change dated after it), or
    #: recorded after later events were decided (a state change).
    late: bool = False
    #: The subject's state was forgotten after this event (``policy.forgetting``): the time of
    #: the newest change it held, which the runner's horizon must cover. Not audited.
    forgotten: datetime | None = None

    def audit_record(self) -> dict[str, Any]:
        change = self.state_change
        return {
            "event_id": self.event_id,
            "event_time": self.event_time,
            "source_topic": self.source_topic,
            "customer_id": self.customer_id,
            "purposes": list(self.purposes),
            "policy_version": self.policy_version,
            "decisions": [d.audit() for d in self.decisions],
            "state_change": (
                None if change is None else describe_change(change, self.tombstones, self.late)
            ),
            "unclassified_fields": list(self.unclassified_fields),
            "tombstone_topics": sorted({t.topic for t in self.tombstones}),
            "late": self.late,
        }


_OUTCOME_TEXT: Final[dict[str, str]] = {
    "recorded": "recorded",
    "rejected": "rejected (identity not verified)",
    "superseded": "superseded (older than the change in force)",
    "refused": "refused (dated before the forgetting horizon: older than state already forgotten)",
}


_LATE_TEXT: Final = " (late: later events were already decided; {})"


def describe_change(
    change: StateChange, tombstones: tuple[Tombstone, ...] = (), late: bool = False
) -> str:
    """The audit record's ``state_change`` text, e.g. ``consent marketing withdrawn: recorded``."""
    if change.change in ("consent_granted", "consent_withdrawn"):
        verb = "granted" if change.change == "consent_granted" else "withdrawn"
        text = f"consent {change.scope} {verb}: {_OUTCOME_TEXT[change.outcome]}"
    else:
        text = f"{change.change}: {_OUTCOME_TEXT[change.outcome]}"
    if late and change.outcome == "recorded":
        opens = change.change in ("consent_granted", "resume_use")
        what = "nothing is forwarded retroactively" if opens else "notices go where the key is"
        text += _LATE_TEXT.format(what)
    topics = len({t.topic for t in tombstones})
    if topics:
        text += f"; withdrawal notices to {topics} shared topic(s)"
    return text
