"""The one pure enforcement engine: ``decide`` for events, ``apply_state_event`` for state.

Both take a ``CompiledPolicy`` (``policy.compile``), so that deciding one event is a few
dictionary look-ups. No I/O, no logging, no exceptions for data; the input event and state are
never mutated. ``policy.step.step`` is the one entry point every runner calls.

An event is decided against the subject's state as of the event's time
(``SubjectState.as_of``, docs/contract.md §2); a withdrawal or verified suspension notifies only the
shared topics that hold the subject's key (``SubjectState.fed_topics``, docs/contract.md §3).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from policy.compile import CompiledPolicy, RoutePlan
from policy.decision import PROVISION_AT, Decision, Output, Reason, RouteDecision, Tombstone
from policy.provision import basis_text
from policy.rules import CROSS_BORDER
from policy.shapes import unclassified_paths
from policy.state import (
    AsOf,
    StateChange,
    SubjectState,
    apply_consent,
    apply_subject_request,
    forget_notified,
)
from policy.topics import CONSENTS
from policy.validation import InputEvent

#: The category counted for a record field the policy does not classify (never forwarded).
UNCLASSIFIED: Final = "unclassified"
#: NamedTuples built from a full tuple of their fields, as their own ``__new__`` builds them
#: but without its Python frame (per route of every event).
new_tuple: Final = tuple.__new__


def decide(event: InputEvent, state: SubjectState, compiled: CompiledPolicy) -> Decision:
    """Which route gets what of this event, given the customer's state as of the event's
    time, and why."""
    record = event.value
    topic = event.topic
    customer_id = record["customer_id"]
    router = compiled.routers.get(topic)
    purposes, plans = router(record) if router else ((), ())
    unclassified = unclassified_fields(record, topic, compiled)
    inspector = compiled.inspectors.get(topic)
    found = inspector.inspect(record) if inspector is not None and plans else None
    decisions: list[RouteDecision] = []
    outputs: list[Output] = []
    version = compiled.version
    now = state.as_of(record["event_time"], compiled.consent_validity)
    suspended, granted, expired = now.suspended, now.granted, now.expired
    for plan in plans:
        # the blocking rule, inlined: this loop runs for every route of every event
        reason: Reason | None = None
        if suspended and plan.stops_on_suspension:
            reason = "use_suspended"
        elif plan.needs_consent and plan.purpose not in granted:
            reason = "consent_expired" if plan.purpose in expired else "no_consent"
        elif plan.needs_cross_border and CROSS_BORDER not in granted:
            reason = "cross_border_consent_missing"
        if reason is not None:
            decisions.append(_blocked(plan, reason, state))
            continue
        source, redactions = (record, ()) if found is None else found.for_route(record, plan)
        value = plan.project(source, topic, version)
        key = value[plan.subject_key] if plan.subject_key else plan.pseudonymiser(customer_id)
        outputs.append(
            new_tuple(Output, (
                plan.topic, key, value, plan.purpose, plan.recipient, plan.schema,
                plan.pseudonymised,
            ))
        )  # fmt: skip
        basis = (
            basis_text(plan.basis, plan.purpose, plan.needs_cross_border, state.consents)
            if plan.basis_by_consent
            else plan.basis
        )
        head = plan.forwarded_head if not unclassified else _with_unclassified(plan, unclassified)
        # the forwarded decision with its record of provision and, when content inspection
        # found personal data in what the route sends, the finds
        decisions.append(new_tuple(RouteDecision, (*head, basis, key, redactions)))
    return _decision(event, purposes, compiled, decisions, outputs, unclassified, now)


def _decision(
    event: InputEvent,
    purposes: tuple[str, ...],
    compiled: CompiledPolicy,
    decisions: list[RouteDecision],
    outputs: list[Output],
    unclassified: tuple[str, ...],
    now: AsOf,
) -> Decision:
    record = event.value
    # every field in order (tombstones, state change and forgotten: none)
    return new_tuple(Decision, (
        record["event_id"], record["event_time"], event.topic, record["customer_id"], purposes,
        compiled.version, tuple(decisions), tuple(outputs), (), unclassified, None, now.late,
        None,
    ))  # fmt: skip


def _blocked(plan: RoutePlan, reason: Reason, state: SubjectState) -> RouteDecision:
    """The plan's blocked decision, naming the consent change or Section 10 request behind it:
    the suspension (or the request dated after the event) for ``use_suspended``, the scope's
    latest change (a withdrawal, a grant dated after the event, or the expired grant) for a
    consent reason."""
    cause: str | None
    if reason == "use_suspended":
        cause = state.suspension_event_id
    else:
        cross = reason == "cross_border_consent_missing"
        consent = state.consents.get(CROSS_BORDER if cross else plan.purpose)
        cause = consent.event_id if consent is not None else None
    # "" when the state predates event ids: not recorded, which is not "never consented".
    # Built as plan.blocked[reason] with its cause, without NamedTuple._replace (per block).
    return RouteDecision(
        plan.recipient, plan.purpose, plan.topic, "blocked", reason, (), (), (), cause
    )


def unclassified_fields(
    record: Mapping[str, Any], topic: str, compiled: CompiledPolicy
) -> tuple[str, ...]:
    """Every key of the record the policy does not classify, at any depth, by path."""
    shape = compiled.shapes.get(topic)
    if shape is None:  # a topic without a schema: only its top-level classification is known
        return tuple(sorted(record.keys() - compiled.classified.get(topic, frozenset())))
    return unclassified_paths(record, shape)


def _with_unclassified(plan: RoutePlan, unclassified: tuple[str, ...]) -> tuple[Any, ...]:
    """``plan.forwarded_head`` with the unclassified fields among those redacted."""
    return tuple(
        plan.forwarded._replace(
            fields_redacted=plan.fields_redacted + unclassified,
            redacted_categories=(*plan.redacted_categories, UNCLASSIFIED),
        )[:PROVISION_AT]
    )


def apply_state_event(
    event: InputEvent,
    state: SubjectState,
    compiled: CompiledPolicy,
    stream_time: datetime | None = None,
    horizon: datetime | None = None,
) -> tuple[SubjectState, Decision]:
    """A consent change or Section 10 request: the new state, and its audited decision.

    A withdrawal (or a verified suspension) that takes effect comes with a tombstone for each
    shared topic of the purposes it stops that holds the subject's key, keyed as that topic's
    records are; the state then forgets those topics. ``stream_time`` is the latest event time
    the runner has decided on this stream: a change dated before it is late (audited as such;
    a late grant forwards nothing retroactively, a late withdrawal still sends its tombstones).
    The decision has no route decisions and no purposes: it is the record of the change
    (``state_change``). ``policy.step.step`` calls it for the state topics only. ``horizon``:
    the runner's forgetting horizon (``policy.forgetting``); a grant dated at or before it is
    refused.
    """
    if event.topic == CONSENTS:
        new_state, change, tombstones = _consent_change(event, state, compiled, horizon)
    else:  # subject-requests
        new_state, change, tombstones = _subject_request(event, state, compiled)
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
        unclassified_fields=unclassified_fields(event.value, event.topic, compiled),
        state_change=change,
        late=stream_time is not None and event.event_time < stream_time,
    )
    return new_state, decision


Changed = tuple[SubjectState, StateChange, tuple[Tombstone, ...]]


def _consent_change(
    event: InputEvent, state: SubjectState, compiled: CompiledPolicy, horizon: datetime | None
) -> Changed:
    record = event.value
    scope = str(record["scope"])
    new_state, change = apply_consent(
        state, scope, record["granted"], event.event_time, event.event_id, horizon
    )
    if change.outcome != "recorded" or record["granted"]:
        return new_state, change, ()
    stopped = [p for p in compiled.all_plans if _consent_stops(p, scope)]
    return _notify(new_state, change, scope, stopped, event, f"consent_withdrawn:{scope}")


def _subject_request(event: InputEvent, state: SubjectState, compiled: CompiledPolicy) -> Changed:
    record = event.value
    kind, verified = str(record["kind"]), bool(record["identity_verified"])
    new_state, change = apply_subject_request(
        state, kind, verified, event.event_time, event.event_id
    )
    if change.outcome != "recorded" or not new_state.suspended:
        return new_state, change, ()
    stopped = [p for p in compiled.all_plans if p.stops_on_suspension]
    return _notify(new_state, change, None, stopped, event, "use_suspended")


def _consent_stops(plan: RoutePlan, scope: str) -> bool:
    if scope == CROSS_BORDER:
        return plan.needs_cross_border
    return plan.needs_consent and plan.purpose == scope


def _notify(
    state: SubjectState,
    change: StateChange,
    scope: str | None,
    stopped: list[RoutePlan],
    event: InputEvent,
    reason: str,
) -> Changed:
    """The tombstones of a change in force (``scope`` None: a suspension) to the stopped topics
    that hold the subject's key, and the state that forgets them. A replayed change
    (at-least-once delivery) notifies again the topics it notified the first time."""
    if change.replay:
        current = state.consents.get(scope) if scope is not None else None
        topics = current.notified if current is not None else state.suspension_notified
    else:
        topics = frozenset(p.topic for p in stopped) & state.fed_topics
        state = forget_notified(state, topics, scope)
    return state, change, _tombstones([p for p in stopped if p.topic in topics], event, reason)


def _tombstones(plans: list[RoutePlan], event: InputEvent, reason: str) -> tuple[Tombstone, ...]:
    """One tombstone per topic, keyed and stamped as that topic's records are."""
    seen: dict[str, Tombstone] = {}
    for plan in plans:
        if plan.topic not in seen:
            key = plan.key(event.customer_id)
            event_id = event.event_id if plan.event_ids is None else plan.event_ids(event.event_id)
            seen[plan.topic] = Tombstone(plan.topic, key, reason, event_id, plan.pseudonymised)
    return tuple(seen.values())
