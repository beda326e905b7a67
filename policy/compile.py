"""The policy compiled once at start-up into per-topic route plans.

``compile_policy`` prepares every route: its condition as a predicate, a projection step per
allowed field (all compiled into one function per route), the recipient's subject-id function
bound in, its output record's name, and the decisions it can lead to, so that ``policy.engine``
decides one event with a few look-ups.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from policy.conditions import Predicate, Tagger, compile_condition, compile_tagging
from policy.decision import BLOCKING_REASONS, PROVISION_AT, Reason, RouteDecision
from policy.errors import ConfigError
from policy.free_form import RecordInspector, record_inspectors
from policy.input_rules import DEFAULT_LIMITS, InputLimits
from policy.input_schemas import load_input_schemas, schema_faults, schema_fields
from policy.keys import EventIdPseudonymiserFn, PseudonymiserFn, PseudonymKeys
from policy.models import CUSTOMER_ID, OnHit, Policy, Route, period
from policy.operators import (
    REGISTRY,
    TimeCoarsener,
    Transform,
    field_output_key,
    scalar_only,
    time_coarsener,
)
from policy.route_projection import Projection, projection
from policy.routing import Router
from policy.rules import HOME_COUNTRY
from policy.shapes import Shape, only_nested, projector, record_shape
from policy.topics import output_record, shared_topic
from policy.validation import TopicRules, build_topic_rules

#: Fields every output record carries before its route's fields (docs/contract.md §3).
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


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """One route, prepared: when it applies, what it needs, how to project a record."""

    route_id: str
    recipient: str
    purpose: str
    topic: str
    schema: str  # the output record's name (``policy.topics.output_record``)
    needs_consent: bool
    needs_cross_border: bool
    stops_on_suspension: bool
    matches: Predicate
    steps: tuple[tuple[str, str, Transform | None], ...]  # field, output key, None: as is
    #: The recipient's subject id of a customer id (keyed HMAC, docs/contract.md §3): every
    #: route's records and tombstones are keyed by it.
    pseudonymiser: PseudonymiserFn
    #: Pseudonymised routes: the recipient-keyed event id (the envelope's event_time goes
    #: truncated to the route's time grain, ``coarsen``; docs/contract.md §3); None on named routes.
    event_ids: EventIdPseudonymiserFn | None
    fields_sent: tuple[str, ...]
    fields_redacted: tuple[str, ...]
    redacted_categories: tuple[str, ...]
    categories: Mapping[str, str]  # source field -> category, for explain
    forwarded: RouteDecision  # the decision when nothing unclassified came along
    blocked: Mapping[Reason, RouteDecision]  # a blocked decision carries nothing per event
    #: A pseudonymised route (docs/contract.md §3: keyed event id, the day, ``subject_pseudonym``).
    pseudonymised: bool = False
    #: The output key that carries the subject id (None: the route keeps the raw customer id,
    #: with a reason; its records are still keyed by the subject id).
    subject_key: str | None = None
    #: The purpose's basis of provision (``policy.provision``).
    basis: str = "contract"
    #: The route's output value of a record, compiled from ``steps`` at load
    #: (``policy.route_projection``): no loop over the fields per event.
    project: Projection = dataclasses.field(init=False)
    #: ``forwarded`` up to its record of provision (``policy.engine`` appends basis, subject
    #: id and content redactions per event).
    forwarded_head: tuple[Any, ...] = dataclasses.field(init=False)
    #: The basis needs the subject's consents (else ``basis`` as it is).
    basis_by_consent: bool = dataclasses.field(init=False)
    #: The inspected (free-form or contact) fields the route sends as they are, and what it
    #: does with a value that held a find (``policy.free_form``).
    inspected: frozenset[str] = frozenset()
    on_content_hit: OnHit = "redact"
    #: Pseudonymised routes: the envelope's event time as coarse as the route's time grain.
    coarsen: TimeCoarsener = time_coarsener("day")

    def __post_init__(self) -> None:
        event_ids, coarsen = self.event_ids, self.coarsen
        project = projection(self.steps, self.purpose, self.recipient, event_ids, coarsen)
        object.__setattr__(self, "project", project)
        object.__setattr__(self, "forwarded_head", tuple(self.forwarded[:PROVISION_AT]))
        object.__setattr__(self, "basis_by_consent", self.needs_consent or self.needs_cross_border)

    def key(self, customer_id: str) -> str:
        """The output key: this recipient's subject id of the customer id."""
        return self.pseudonymiser(customer_id)

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
    #: How long a grant of each expiring consent scope stays in force (``consent_valid_for``).
    consent_validity: Mapping[str, timedelta]
    #: The late-arrival horizon of forgetting (``forget_after``, ``policy.forgetting``).
    forget_after: timedelta
    #: Shared topics a withdrawal or suspension may have to notify (a tombstone owed).
    erasable_topics: frozenset[str]
    #: Per input topic, the inspector of the free-form values its routes send (docs/contract.md §3).
    inspectors: Mapping[str, RecordInspector] = dataclasses.field(default_factory=dict)

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
        consent_validity=policy.consent_validity(),
        forget_after=period(policy.forget_after),
        erasable_topics=_erasable(plans),
        routers=_routers(policy, tagging, plans, purpose_order),
        shapes={
            topic: record_shape(schemas.get(spec.record, {}), spec)
            for topic, spec in policy.inputs.items()
        },
        inspectors=record_inspectors(policy.free_form, _inspected_by_topic(plans)),
    )


def _erasable(plans: Mapping[str, list[RoutePlan]]) -> frozenset[str]:
    """Shared topics a withdrawal or suspension may owe a tombstone."""
    return frozenset(
        p.topic
        for topic_plans in plans.values()
        for p in topic_plans
        if p.needs_consent or p.needs_cross_border or p.stops_on_suspension
    )


def _inspected_by_topic(plans: Mapping[str, list[RoutePlan]]) -> dict[str, frozenset[str]]:
    """Per input topic, every inspected field some route sends."""
    return {t: frozenset().union(*(p.inspected for p in ps)) for t, ps in plans.items()}


def _routers(
    policy: Policy,
    tagging: Mapping[str, Tagger],
    plans: Mapping[str, list[RoutePlan]],
    purpose_order: tuple[str, ...],
) -> dict[str, Router[RoutePlan]]:
    return {
        topic: Router(
            tagging.get(topic),
            [(plan, plan.purpose, plan.matches) for plan in plans[topic]],
            _condition_fields(policy, topic),
            purpose_order,
        )
        for topic in policy.inputs
    }


def _condition_fields(policy: Policy, topic: str) -> tuple[str, ...]:
    """Every field a tagging rule or route condition of the topic tests."""
    conditions = [r.when for r in policy.tagging.get(topic, ())]
    conditions += [r.when for r in policy.routes if r.source == topic]
    fields = {field for when in conditions for alt in when or () for field in alt}
    return tuple(sorted(fields))


def _plan(
    policy: Policy, route: Route, keys: PseudonymKeys, schema: Mapping[str, Any]
) -> RoutePlan:
    pseudonymiser = keys.pseudonymiser(route.recipient)  # ConfigError naming the recipient
    steps, unchanged = _steps(policy, route, pseudonymiser, schema_fields(schema))
    categories = policy.inputs[route.source].fields
    redacted = tuple(f for f in categories if f not in unchanged)
    topic = shared_topic(route.recipient, route.purpose)
    fields_sent = tuple(output_key for _, output_key, _ in steps)
    redacted_categories = tuple(sorted({categories[f] for f in redacted}))
    forwarded = RouteDecision(
        route.recipient, route.purpose, topic, "forwarded", "permitted", fields_sent, redacted,
        redacted_categories,
    )  # fmt: skip
    return RoutePlan(
        route_id=route.id,
        recipient=route.recipient,
        purpose=route.purpose,
        topic=topic,
        schema=output_record(route.recipient, route.purpose, route.source),
        needs_consent=policy.purpose(route.purpose).needs_consent,
        needs_cross_border=policy.recipient(route.recipient).country != HOME_COUNTRY,
        stops_on_suspension=route.purpose not in policy.suspension_exempt,
        matches=compile_condition(route.when),
        steps=steps,
        pseudonymiser=pseudonymiser,
        event_ids=keys.event_id_pseudonymiser(route.recipient) if route.pseudonymised else None,
        fields_sent=fields_sent,
        fields_redacted=redacted,
        redacted_categories=redacted_categories,
        categories=dict(categories),
        forwarded=forwarded,
        blocked=_blocked_decisions(route, topic),
        pseudonymised=route.pseudonymised,
        subject_key=_subject_key(route),
        basis=policy.purpose(route.purpose).basis,
        inspected=_inspected(policy, route.source, unchanged),
        on_content_hit=route.on_content_hit,
        coarsen=time_coarsener(route.time_grain),
    )


def _blocked_decisions(route: Route, topic: str) -> dict[Reason, RouteDecision]:
    """The route's decision for each blocking reason (it carries nothing per event)."""
    return {
        reason: RouteDecision(route.recipient, route.purpose, topic, "blocked", reason, (), ())
        for reason in BLOCKING_REASONS
    }


def _subject_key(route: Route) -> str | None:
    """The output key that carries the subject id; None where the route keeps the raw id."""
    op = route.fields[CUSTOMER_ID].op
    return field_output_key(CUSTOMER_ID, op, route.pseudonymised) if op == "pseudonymise" else None


def _inspected(policy: Policy, source: str, unchanged: set[str]) -> frozenset[str]:
    """The inspected (free-form or contact) fields a route sends as they are."""
    kinds = policy.free_form.inspected(source) if policy.free_form else {}
    return frozenset(kinds) & frozenset(unchanged)


def _steps(
    policy: Policy,
    route: Route,
    pseudonymiser: PseudonymiserFn,
    declared: Mapping[str, Mapping[str, Any]],
) -> tuple[tuple[tuple[str, str, Transform | None], ...], set[str]]:
    """The projection steps of the route's fields, and the input fields that go unchanged."""
    steps: list[tuple[str, str, Transform | None]] = []
    unchanged: set[str] = set(ENVELOPE_FROM_RECORD)
    for field, rule in route.fields.items():
        operator = REGISTRY[rule.op]
        output_key = field_output_key(field, rule.op, route.pseudonymised)
        if output_key is not None:
            transform: Transform | None = operator.build(rule, pseudonymiser)
            if rule.op == "keep":
                transform = _kept(policy, route, field, declared)
            steps.append((field, output_key, transform))
        if rule.op == "keep":
            unchanged.add(field)
    return tuple(steps), unchanged


def _kept(
    policy: Policy, route: Route, field: str, declared: Mapping[str, Mapping[str, Any]]
) -> Transform | None:
    """A kept scalar goes as it is; a list, map or record is built anew from the classified
    keys at every depth (``policy.shapes``); a shape no schema declares never goes."""
    if field not in declared:
        return scalar_only
    spec = policy.inputs[route.source]
    only = route.fields[field].only
    if only is not None:  # the records inside keep only these keys (``keep`` with ``only``)
        spec = spec.model_copy(update={"nested": only_nested(spec.nested, field, only)})
    return projector(declared[field]["type"], spec, field)
