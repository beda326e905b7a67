"""The one pure enforcement engine: ``decide`` for events, ``apply_state_event`` for state.

Both take a ``CompiledPolicy`` (``policy.compile``), so that deciding one event is a few
dictionary look-ups. No I/O, no logging, no exceptions for data; the input event and state are
never mutated. ``policy.step.step`` is the one entry point every runner calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from policy.compile import CompiledPolicy, RoutePlan
from policy.decision import Decision, Output, Reason, RouteDecision, Tombstone
from policy.operators import PSEUDONYM_KEY
from policy.rules import CROSS_BORDER
from policy.state import (
    Consent,
    StateChange,
    SubjectState,
    apply_consent,
    apply_subject_request,
)
from policy.topics import CONSENTS
from policy.validation import InputEvent

#: The category counted for a record field the policy does not classify (never forwarded).
UNCLASSIFIED: Final = "unclassified"


def decide(event: InputEvent, state: SubjectState, compiled: CompiledPolicy) -> Decision:
    """Which route gets what of this event, given the customer's state, and why."""
    record = event.value
    topic = event.topic
    customer_id = record["customer_id"]
    router = compiled.routers.get(topic)
    purposes, plans = router(record) if router else ((), ())
    extra = record.keys() - compiled.classified.get(topic, frozenset())
    unclassified = tuple(sorted(extra)) if extra else ()
    decisions: list[RouteDecision] = []
    outputs: list[Output] = []
    suspended, consents = state.suspended, state.consents
    for plan in plans:
        # blocked_reason(), inlined: this loop runs for every route of every event.
        reason: Reason | None = None
        if suspended and plan.stops_on_suspension:
            reason = "use_suspended"
        elif plan.needs_consent and not _granted(consents, plan.purpose):
            reason = "no_consent"
        elif plan.needs_cross_border and not _granted(consents, CROSS_BORDER):
            reason = "cross_border_consent_missing"
        if reason is not None:
            decisions.append(plan.blocked[reason])
            continue
        value = _project(plan, record, topic, compiled.version)
        key = customer_id if plan.pseudonymiser is None else value[PSEUDONYM_KEY]
        outputs.append(Output(plan.topic, key, value, plan.purpose, plan.recipient, plan.schema))
        decisions.append(_with_unclassified(plan, unclassified) if extra else plan.forwarded)
    return Decision(
        record["event_id"],
        record["event_time"],
        topic,
        customer_id,
        purposes,
        compiled.version,
        tuple(decisions),
        tuple(outputs),
        (),
        unclassified,
    )


def _granted(consents: Mapping[str, Consent], scope: str) -> bool:
    consent = consents.get(scope)
    return consent is not None and consent.granted


def _with_unclassified(plan: RoutePlan, unclassified: tuple[str, ...]) -> RouteDecision:
    return plan.forwarded._replace(
        fields_redacted=plan.fields_redacted + unclassified,
        redacted_categories=(*plan.redacted_categories, UNCLASSIFIED),
    )


def _project(
    plan: RoutePlan, record: Mapping[str, Any], source_topic: str, version: str
) -> dict[str, Any]:
    get = record.get
    value: dict[str, Any] = {
        "event_id": record["event_id"],
        "event_time": record["event_time"],
        "source_topic": source_topic,
        "purpose": plan.purpose,
        "recipient": plan.recipient,
        "policy_version": version,
    }
    for field, output_key, transform in plan.steps:
        value[output_key] = get(field) if transform is None else transform(get(field))
    return value


def apply_state_event(
    event: InputEvent, state: SubjectState, compiled: CompiledPolicy
) -> tuple[SubjectState, Decision]:
    """A consent change or Section 10 request: the new state, and its audited decision.

    A withdrawal (or a verified suspension) that takes effect comes with tombstones for every
    shared topic of the purposes it stops, keyed as that topic's records are. The decision has
    no route decisions and no purposes: it is the record of the change (``state_change``).
    ``policy.step.step`` calls it for the state topics only.
    """
    if event.topic == CONSENTS:
        new_state, change, tombstones = _consent_change(event, state, compiled)
    else:  # subject-requests
        new_state, change, tombstones = _subject_request(event, state, compiled)
    classified = compiled.classified.get(event.topic, frozenset())
    decision = Decision(
        event_id=event.event_id,
        event_time=event.event_time,
        source_topic=event.topic,
        customer_id=event.customer_id,
        purposes=(),
        policy_version=compiled.version,
        decisions=(),
        outputs=(),
        tombstones=tombstones,
        unclassified_fields=tuple(sorted(event.value.keys() - classified)),
        state_change=change,
    )
    return new_state, decision


def _consent_change(
    event: InputEvent, state: SubjectState, compiled: CompiledPolicy
) -> tuple[SubjectState, StateChange, tuple[Tombstone, ...]]:
    record = event.value
    scope = str(record["scope"])
    new_state, change = apply_consent(
        state, scope, record["granted"], event.event_time, event.event_id
    )
    if change.outcome != "recorded" or record["granted"]:
        return new_state, change, ()
    stopped = [p for p in compiled.all_plans if _consent_stops(p, scope)]
    return new_state, change, _tombstones(stopped, event.customer_id, f"consent_withdrawn:{scope}")


def _subject_request(
    event: InputEvent, state: SubjectState, compiled: CompiledPolicy
) -> tuple[SubjectState, StateChange, tuple[Tombstone, ...]]:
    record = event.value
    kind, verified = str(record["kind"]), bool(record["identity_verified"])
    new_state, change = apply_subject_request(
        state, kind, verified, event.event_time, event.event_id
    )
    if change.outcome != "recorded" or not new_state.suspended:
        return new_state, change, ()
    stopped = [p for p in compiled.all_plans if p.stops_on_suspension]
    return new_state, change, _tombstones(stopped, event.customer_id, "use_suspended")


def _consent_stops(plan: RoutePlan, scope: str) -> bool:
    if scope == CROSS_BORDER:
        return plan.needs_cross_border
    return plan.needs_consent and plan.purpose == scope


def _tombstones(plans: list[RoutePlan], customer_id: str, reason: str) -> tuple[Tombstone, ...]:
    seen: dict[tuple[str, str], Tombstone] = {}
    for plan in plans:
        key = plan.key(customer_id)
        seen.setdefault((plan.topic, key), Tombstone(plan.topic, key, reason))
    return tuple(seen.values())
