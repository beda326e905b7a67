"""The one pure enforcement engine: ``decide`` for events, ``apply_state_event`` for state.

``compile_policy`` turns the policy into per-topic route plans once at start-up (conditions as
predicates, a projection step per allowed field, the recipient's pseudonymiser bound in), so
that deciding one event is a few dictionary look-ups. No I/O, no logging, no exceptions for
data; the input event and state are never mutated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from policy.conditions import Predicate, Tagger, compile_condition, compile_tagging
from policy.decision import BLOCKING_REASONS, Decision, Output, Reason, RouteDecision, Tombstone
from policy.input_schemas import load_input_schemas, schema_fields
from policy.keys import PseudonymiserFn, PseudonymKeys
from policy.models import Policy, Route
from policy.operators import PSEUDONYM_KEY, REGISTRY, Transform, copier
from policy.routing import Router
from policy.rules import CROSS_BORDER, HOME_COUNTRY
from policy.state import Consent, SubjectState, apply_consent, apply_subject_request
from policy.validation import InputEvent, TopicRules, build_topic_rules

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
    policy: Policy, keys: PseudonymKeys, schemas_dir: Path | None = None
) -> CompiledPolicy:
    """Prepare the policy; ``ConfigError`` if a pseudonymised route's recipient has no key."""
    schemas = load_input_schemas(schemas_dir)
    plans: dict[str, list[RoutePlan]] = {topic: [] for topic in policy.inputs}
    for route in policy.routes:
        schema = schemas.get(policy.inputs[route.source].record, {})
        plans[route.source].append(_plan(policy, route, keys, schema_fields(schema)))
    tagging = {topic: compile_tagging(rules) for topic, rules in policy.tagging.items()}
    purpose_order = tuple(p.id for p in policy.purposes)
    return CompiledPolicy(
        policy=policy,
        version=policy.version,
        topic_rules=build_topic_rules(policy, schemas),
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
    )


def _condition_fields(policy: Policy, topic: str) -> tuple[str, ...]:
    """Every field a tagging rule or route condition of the topic tests."""
    conditions = [r.when for r in policy.tagging.get(topic, ())]
    conditions += [r.when for r in policy.routes if r.source == topic]
    fields = {field for when in conditions for alt in when or () for field in alt}
    return tuple(sorted(fields))


def _plan(
    policy: Policy, route: Route, keys: PseudonymKeys, declared: Mapping[str, Mapping[str, Any]]
) -> RoutePlan:
    pseudonymiser = keys.pseudonymiser(route.recipient) if route.pseudonymised else None
    steps: list[tuple[str, str, Transform | None]] = []
    unchanged: set[str] = set(ENVELOPE_FROM_RECORD)
    if not route.pseudonymised:
        unchanged.add("customer_id")  # it travels as the record key
    for field, rule in route.fields.items():
        operator = REGISTRY[rule.op]
        output_key = operator.output_key(field)
        if output_key is not None:
            # A kept scalar goes as it is; a kept list or map is copied, never shared.
            kept = rule.op == "keep" and field in declared
            transform = (
                copier(declared[field]["type"]) if kept else operator.build(rule, pseudonymiser)
            )
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
        outputs.append(Output(plan.topic, key, value, plan.purpose, plan.recipient))
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


def blocked_reason(plan: RoutePlan, state: SubjectState) -> Reason | None:
    """Why the customer's state blocks this route, or None when it is permitted."""
    if plan.stops_on_suspension and state.suspended:
        return "use_suspended"
    if plan.needs_consent and not state.granted(plan.purpose):
        return "no_consent"
    if plan.needs_cross_border and not state.granted(CROSS_BORDER):
        return "cross_border_consent_missing"
    return None


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
    """
    record = event.value
    if event.topic == CONSENTS:
        scope = str(record["scope"])
        new_state, change = apply_consent(
            state, scope, record["granted"], event.event_time, event.event_id
        )
        stopped = [p for p in compiled.all_plans if _consent_stops(p, scope)]
        reason = f"consent_withdrawn:{scope}"
        takes_effect = change.outcome == "recorded" and not record["granted"]
    elif event.topic == SUBJECT_REQUESTS:
        kind, verified = str(record["kind"]), bool(record["identity_verified"])
        new_state, change = apply_subject_request(
            state, kind, verified, event.event_time, event.event_id
        )
        stopped = [p for p in compiled.all_plans if p.stops_on_suspension]
        reason = "use_suspended"
        takes_effect = change.outcome == "recorded" and new_state.suspended
    else:
        return state, decide(event, state, compiled)
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
        tombstones=_tombstones(stopped, event.customer_id, reason) if takes_effect else (),
        unclassified_fields=tuple(sorted(record.keys() - classified)),
        state_change=change,
    )
    return new_state, decision


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
