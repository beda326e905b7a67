"""The one pure enforcement engine: ``decide`` for events, ``apply_state_event`` for state.

``compile_policy`` turns the policy into per-topic route plans once at start-up (conditions as
predicates, a projection step per allowed field, the recipient's pseudonymiser bound in), so
that deciding one event is a few dictionary look-ups. No I/O, no logging, no exceptions for
data; the input event and state are never mutated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any, Final

from policy.conditions import Predicate, Tagger, compile_condition, compile_tagging
from policy.decision import BLOCKING_REASONS, Decision, Output, Reason, RouteDecision, Tombstone
from policy.input_rules import DEFAULT_LIMITS, InputLimits
from policy.input_schemas import load_input_schemas, schema_faults, schema_fields
from policy.keys import EventIdPseudonymiserFn, PseudonymiserFn, PseudonymKeys
from policy.models import Policy, Route
from policy.operators import PSEUDONYM_KEY, REGISTRY, Transform
from policy.routing import Router
from policy.rules import CROSS_BORDER, HOME_COUNTRY
from policy.shapes import Shape, projector, record_shape, scalar_only, unclassified_paths
from policy.state import (
    StateChange,
    SubjectState,
    apply_consent,
    apply_subject_request,
    forget_notified,
)
from policy.validation import InputEvent, TopicRules, build_topic_rules
from streams.errors import ConfigError

__all__ = [
    "CompiledPolicy",
    "Decision",
    "InputEvent",
    "Output",
    "RouteDecision",
    "RoutePlan",
    "SubjectState",
    "Tombstone",
    "apply_state_event",
    "blocked_reason",
    "compile_policy",
    "decide",
    "tag",
]

#: Fields every output record carries before its route's fields (CONTRACT.md §3).
ENVELOPE: Final = (
    "event_id",
    "event_time",
    "source_topic",
    "purpose",
    "recipient",
    "policy_version",
)
#: Record fields that travel in the envelope, not as route fields.
ENVELOPE_FROM_RECORD: Final = frozenset({"event_id", "event_time"})
#: The category counted for a record field the policy does not classify (never forwarded).
UNCLASSIFIED: Final = "unclassified"
CONSENTS: Final = "consents"
MIDNIGHT: Final = time(0, 0, tzinfo=UTC)
SUBJECT_REQUESTS: Final = "subject-requests"


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """One route, prepared: when it applies, what it needs, how to project a record."""

    route_id: str
    recipient: str
    purpose: str
    topic: str
    needs_consent: bool
    needs_cross_border: bool
    stops_on_suspension: bool
    matches: Predicate
    steps: tuple[tuple[str, str, Transform | None], ...]  # field, output key, None: as is
    pseudonymiser: PseudonymiserFn | None
    #: Pseudonymised routes: the recipient-keyed event id (the envelope's event_time goes
    #: truncated to the day); None on routes that carry the customer id.
    event_ids: EventIdPseudonymiserFn | None
    fields_sent: tuple[str, ...]
    fields_redacted: tuple[str, ...]
    redacted_categories: tuple[str, ...]
    categories: Mapping[str, str]  # source field -> category, for explain
    forwarded: RouteDecision  # the decision when nothing unclassified came along
    blocked: Mapping[Reason, RouteDecision]  # a blocked decision carries nothing per event

    def key(self, customer_id: str) -> str:
        """The output key: the customer id, or this recipient's pseudonym of it."""
        return customer_id if self.pseudonymiser is None else self.pseudonymiser(customer_id)

    def output_keys(self) -> tuple[str, ...]:
        return ENVELOPE + self.fields_sent


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """The policy ready for the hot path. Build with ``compile_policy`` once at start-up."""

    policy: Policy
    version: str
    topic_rules: Mapping[str, TopicRules]
    tagging: Mapping[str, Tagger]
    plans: Mapping[str, tuple[RoutePlan, ...]]
    classified: Mapping[str, frozenset[str]]
    purpose_order: tuple[str, ...]
    routers: Mapping[str, Router[RoutePlan]]
    shapes: Mapping[str, Shape]  # the classified keys of each topic's records, at every depth

    @property
    def all_plans(self) -> tuple[RoutePlan, ...]:
        return tuple(plan for plans in self.plans.values() for plan in plans)

    @property
    def shared_topics(self) -> tuple[str, ...]:
        """Every ``shared.<recipient>.<purpose>`` topic a route writes (logical names)."""
        return self.policy.shared_topics()

    @property
    def policy_version(self) -> str:
        return self.version


def compile_policy(
    policy: Policy,
    keys: PseudonymKeys,
    schemas_dir: Path | None = None,
    limits: InputLimits = DEFAULT_LIMITS,
) -> CompiledPolicy:
    """Prepare the policy; ``ConfigError`` if a pseudonymised route's recipient has no key, or
    if a field of an input schema, at any depth, has no data category in the policy."""
    schemas = load_input_schemas(schemas_dir)
    faults = schema_faults(policy, schemas)
    if faults:
        raise ConfigError("the policy does not fit the input schemas:\n  " + "\n  ".join(faults))
    plans: dict[str, list[RoutePlan]] = {topic: [] for topic in policy.inputs}
    for route in policy.routes:
        schema = schemas.get(policy.inputs[route.source].record, {})
        plans[route.source].append(_plan(policy, route, keys, schema))
    tagging = {topic: compile_tagging(rules) for topic, rules in policy.tagging.items()}
    purpose_order = tuple(p.id for p in policy.purposes)
    return CompiledPolicy(
        policy=policy,
        version=policy.version,
        topic_rules=build_topic_rules(policy, schemas, limits),
        tagging=tagging,
        plans={topic: tuple(p) for topic, p in plans.items()},
        classified={topic: frozenset(spec.fields) for topic, spec in policy.inputs.items()},
        purpose_order=purpose_order,
        routers={
            topic: Router(
                tagging.get(topic),
                [(plan, plan.purpose, plan.matches) for plan in plans[topic]],
                _condition_fields(policy, topic),
                purpose_order,
            )
            for topic in policy.inputs
        },
        shapes={
            topic: record_shape(schemas.get(spec.record, {}), spec)
            for topic, spec in policy.inputs.items()
        },
    )


def _condition_fields(policy: Policy, topic: str) -> tuple[str, ...]:
    """Every field a tagging rule or route condition of the topic tests."""
    conditions = [r.when for r in policy.tagging.get(topic, ())]
    conditions += [r.when for r in policy.routes if r.source == topic]
    fields = {field for when in conditions for alt in when or () for field in alt}
    return tuple(sorted(fields))


def _plan(
    policy: Policy, route: Route, keys: PseudonymKeys, schema: Mapping[str, Any]
) -> RoutePlan:
    pseudonymiser = keys.pseudonymiser(route.recipient) if route.pseudonymised else None
    event_ids = keys.event_id_pseudonymiser(route.recipient) if route.pseudonymised else None
    declared = schema_fields(schema)
    spec = policy.inputs[route.source]
    steps: list[tuple[str, str, Transform | None]] = []
    unchanged: set[str] = set(ENVELOPE_FROM_RECORD)
    if not route.pseudonymised:
        unchanged.add("customer_id")  # it travels as the record key
    for field, rule in route.fields.items():
        operator = REGISTRY[rule.op]
        output_key = operator.output_key(field)
        if output_key is not None:
            transform: Transform | None = operator.build(rule, pseudonymiser)
            if rule.op == "keep":
                # A scalar goes as it is; a list, map or record is built anew from the
                # classified keys at every depth; a shape no schema declares never goes.
                known = field in declared
                transform = projector(declared[field]["type"], spec, field) if known else None
                transform = transform if known else scalar_only
            steps.append((field, output_key, transform))
        if rule.op == "keep":
            unchanged.add(field)
    categories = policy.inputs[route.source].fields
    redacted = tuple(f for f in categories if f not in unchanged)
    purpose = policy.purpose(route.purpose)
    topic = f"shared.{route.recipient}.{route.purpose}"
    fields_sent = tuple(output_key for _, output_key, _ in steps)
    redacted_categories = tuple(sorted({categories[f] for f in redacted}))
    return RoutePlan(
        route_id=route.id,
        recipient=route.recipient,
        purpose=route.purpose,
        topic=topic,
        needs_consent=purpose.needs_consent,
        needs_cross_border=policy.recipient(route.recipient).country != HOME_COUNTRY,
        stops_on_suspension=route.purpose not in policy.suspension_exempt,
        matches=compile_condition(route.when),
        steps=tuple(steps),
        pseudonymiser=pseudonymiser,
        event_ids=event_ids,
        fields_sent=fields_sent,
        fields_redacted=redacted,
        redacted_categories=redacted_categories,
        categories=dict(categories),
        forwarded=RouteDecision(
            route.recipient,
            route.purpose,
            topic,
            "forwarded",
            "permitted",
            fields_sent,
            redacted,
            redacted_categories,
        ),  # fmt: skip
        blocked={
            reason: RouteDecision(route.recipient, route.purpose, topic, "blocked", reason, (), ())
            for reason in BLOCKING_REASONS
        },
    )


def tag(event: InputEvent, compiled: CompiledPolicy) -> tuple[str, ...]:
    """The Section 5 purposes the event serves, in the policy's purpose order."""
    router = compiled.routers.get(event.topic)
    return router(event.value)[0] if router else ()


def decide(event: InputEvent, state: SubjectState, compiled: CompiledPolicy) -> Decision:
    """Which route gets what of this event, given the customer's state as of the event's
    time (``SubjectState.as_of``), and why."""
    record = event.value
    topic = event.topic
    customer_id = record["customer_id"]
    router = compiled.routers.get(topic)
    purposes, plans = router(record) if router else ((), ())
    unclassified = _unclassified(record, topic, compiled)
    decisions: list[RouteDecision] = []
    outputs: list[Output] = []
    now = state.as_of(record["event_time"])
    suspended, granted = now.suspended, now.granted
    for plan in plans:
        # blocked_reason(), inlined: this loop runs for every route of every event.
        reason: Reason | None = None
        if suspended and plan.stops_on_suspension:
            reason = "use_suspended"
        elif plan.needs_consent and plan.purpose not in granted:
            reason = "no_consent"
        elif plan.needs_cross_border and CROSS_BORDER not in granted:
            reason = "cross_border_consent_missing"
        if reason is not None:
            decisions.append(plan.blocked[reason])
            continue
        value = _project(plan, record, topic, compiled.version)
        key = customer_id if plan.pseudonymiser is None else value[PSEUDONYM_KEY]
        outputs.append(Output(plan.topic, key, value, plan.purpose, plan.recipient))
        decisions.append(_with_unclassified(plan, unclassified) if unclassified else plan.forwarded)
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
        late=now.late,
    )


def _unclassified(
    record: Mapping[str, Any], topic: str, compiled: CompiledPolicy
) -> tuple[str, ...]:
    shape = compiled.shapes.get(topic)
    if shape is None:  # a topic without a schema: nothing of it is classified
        return tuple(sorted(record.keys() - compiled.classified.get(topic, frozenset())))
    return unclassified_paths(record, shape)


def _with_unclassified(plan: RoutePlan, unclassified: tuple[str, ...]) -> RouteDecision:
    return plan.forwarded._replace(
        fields_redacted=plan.fields_redacted + unclassified,
        redacted_categories=(*plan.redacted_categories, UNCLASSIFIED),
    )


def blocked_reason(plan: RoutePlan, state: SubjectState, at: datetime) -> Reason | None:
    """Why the customer's state as of ``at`` blocks this route, or None when it permits it."""
    now = state.as_of(at)
    if plan.stops_on_suspension and now.suspended:
        return "use_suspended"
    if plan.needs_consent and plan.purpose not in now.granted:
        return "no_consent"
    if plan.needs_cross_border and CROSS_BORDER not in now.granted:
        return "cross_border_consent_missing"
    return None


def _project(
    plan: RoutePlan, record: Mapping[str, Any], source_topic: str, version: str
) -> dict[str, Any]:
    get = record.get
    event_ids = plan.event_ids
    value: dict[str, Any] = {
        "event_id": record["event_id"] if event_ids is None else event_ids(record["event_id"]),
        "event_time": record["event_time"] if event_ids is None else _day(record["event_time"]),
        "source_topic": source_topic,
        "purpose": plan.purpose,
        "recipient": plan.recipient,
        "policy_version": version,
    }
    for field, output_key, transform in plan.steps:
        value[output_key] = get(field) if transform is None else transform(get(field))
    return value


def _day(moment: datetime) -> datetime:
    """UTC midnight of the moment's day: a pseudonymised record's time (CONTRACT.md §3)."""
    return datetime.combine(moment.date(), MIDNIGHT)


def apply_state_event(
    event: InputEvent,
    state: SubjectState,
    compiled: CompiledPolicy,
    stream_time: datetime | None = None,
) -> tuple[SubjectState, Decision]:
    """A consent change or Section 10 request: the new state, and its audited decision.

    A withdrawal (or a verified suspension) that takes effect comes with a tombstone for each
    shared topic of the purposes it stops that holds the subject's key (``fed_topics``), keyed
    as that topic's records are; those topics are then forgotten. ``stream_time`` is the latest
    event time the runner has decided on this stream: a change dated before it is late (audited
    as such; a late grant forwards nothing retroactively). The decision has no route decisions
    and no purposes: it is the record of the change (``state_change``).

    Any other event is decided (``decide``) and the shared topics it fed are remembered.
    """
    record = event.value
    if event.topic == CONSENTS:
        scope: str | None = str(record["scope"])
        new_state, change = apply_consent(
            state, str(scope), record["granted"], event.event_time, event.event_id
        )
        stopped = [p for p in compiled.all_plans if _consent_stops(p, str(scope))]
        reason = f"consent_withdrawn:{scope}"
        takes_effect = change.outcome == "recorded" and not record["granted"]
    elif event.topic == SUBJECT_REQUESTS:
        kind, verified = str(record["kind"]), bool(record["identity_verified"])
        new_state, change = apply_subject_request(
            state, kind, verified, event.event_time, event.event_id
        )
        scope, stopped = None, [p for p in compiled.all_plans if p.stops_on_suspension]
        reason = "use_suspended"
        takes_effect = change.outcome == "recorded" and new_state.suspended
    else:
        decision = decide(event, state, compiled)
        return state.fed(frozenset(o.topic for o in decision.outputs)), decision
    tombstones: tuple[Tombstone, ...] = ()
    if takes_effect:
        new_state, tombstones = _notify(new_state, change, scope, stopped, event, reason)
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
        unclassified_fields=_unclassified(record, event.topic, compiled),
        state_change=change,
        late=stream_time is not None and event.event_time < stream_time,
    )
    return new_state, decision


def _notify(
    state: SubjectState,
    change: StateChange,
    scope: str | None,
    stopped: list[RoutePlan],
    event: InputEvent,
    reason: str,
) -> tuple[SubjectState, tuple[Tombstone, ...]]:
    """The tombstones of a change in force, and the state that forgets their topics. A
    replayed change (at-least-once delivery) notifies again the topics it notified."""
    if change.replay:
        current = state.consents.get(scope) if scope is not None else None
        topics = current.notified if current is not None else state.suspension_notified
    else:
        topics = frozenset(p.topic for p in stopped) & state.fed_topics
        state = forget_notified(state, topics, scope)
    plans = [p for p in stopped if p.topic in topics]
    return state, _tombstones(plans, event, reason)


def _consent_stops(plan: RoutePlan, scope: str) -> bool:
    if scope == CROSS_BORDER:
        return plan.needs_cross_border
    return plan.needs_consent and plan.purpose == scope


def _tombstones(plans: list[RoutePlan], event: InputEvent, reason: str) -> tuple[Tombstone, ...]:
    """One tombstone per topic, keyed and stamped as that topic's records are."""
    seen: dict[str, Tombstone] = {}
    for plan in plans:
        if plan.topic not in seen:
            key = plan.key(event.customer_id)
            event_id = event.event_id if plan.event_ids is None else plan.event_ids(event.event_id)
            seen[plan.topic] = Tombstone(plan.topic, key, reason, event_id)
    return tuple(seen.values())
