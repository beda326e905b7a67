"""The policy's cross-entry rules: every fault of a structurally valid policy, named by entry.

Each check returns readable faults (``routes[3].fields: 'email' is not a Section 6 shared
item``); ``policy_faults`` collects them all so that one run of ``check-policy`` shows every
problem at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Final

from policy.conditions import disjoint
from policy.conditions_check import condition_faults
from policy.models import (
    CUSTOMER_ID,
    Category,
    FieldRule,
    Policy,
    Route,
    period,
    top_field,
)
from policy.operators import REGISTRY
from policy.provision_rules import basis_faults, subject_faults
from policy.topics import shared_topic

HOME_COUNTRY: Final = "JP"
#: The consent scope for provision to a recipient in a foreign country (APPI Article 28).
CROSS_BORDER: Final = "cross_border"
#: The shortest ``forget_after``: the forgetting horizon is kept to the day (policy.forgetting).
MIN_FORGET_AFTER: Final = timedelta(days=2)
#: The category of the customer id, the only field ``pseudonymise`` applies to.
IDENTIFIER: Final = "identifier"


def consent_scopes(policy: Policy) -> tuple[str, ...]:
    """Every value a ConsentChange's ``scope`` may take: the purposes, and ``cross_border``."""
    return (*(p.id for p in policy.purposes), CROSS_BORDER)


def policy_faults(policy: Policy) -> list[str]:
    faults: list[str] = []
    faults += _duplicate_ids("purposes", (p.id for p in policy.purposes))
    faults += _duplicate_ids("categories", (c.id for c in policy.categories))
    faults += _duplicate_ids("recipients", (r.id for r in policy.recipients))
    purposes = {p.id for p in policy.purposes}
    faults += [
        f"suspension_exempt: unknown purpose '{p}'"
        for p in policy.suspension_exempt
        if p not in purposes
    ]
    faults += _input_faults(policy)
    faults += _tagging_faults(policy)
    faults += basis_faults(policy)
    faults += [
        f"recipients.{r.id}: outside {HOME_COUNTRY} ({r.country}) but no cross_border_basis"
        for r in policy.recipients
        if r.country != HOME_COUNTRY and not r.cross_border_basis
    ]
    for index, route in enumerate(policy.routes):
        faults += route_faults(policy, index, route)
    faults += linkable_faults(policy)
    seen = Counter(route.id for route in policy.routes)
    faults += [f"routes: '{rid}' is declared {n} times" for rid, n in seen.items() if n > 1]
    faults += _lifetime_faults(policy)
    return faults


#: What every route of one shared topic must declare alike: its default ("": a route that
#: declares none takes whatever another route of the topic declares) and why.
_PER_TOPIC: Final = {
    "retention": ("30d", "one topic keeps one retention"),
    "segment_roll": ("1d", "one topic rolls its segments at one age"),
    "erasure_read_within": ("7d", "one topic's erasure notices are overdue after one time"),
    "consumer_group": ("", "one topic is read by one group"),
}


def linkable_faults(policy: Policy) -> list[str]:
    """A pseudonymised route that sends a value exactly as (same operator and parameters) a
    named route of another recipient does, for events both can carry: a join key
    (docs/contract.md §3; measured by ``purposegate linkability``)."""
    faults: list[str] = []
    for index, route in enumerate(policy.routes):
        for other in policy.routes if route.pseudonymised else ():
            if (
                other.pseudonymised
                or other.recipient == route.recipient
                or (other.source != route.source or disjoint(route.when, other.when))
            ):
                continue
            faults += [
                f"routes[{index}].fields.{field}: sent exactly as {other.id} sends it; "
                "generalise it (a join key to named records)"
                for field, rule in route.fields.items()
                if field in other.fields and other.fields[field] == rule and _joins(rule)
            ]
    return faults


def _joins(rule: FieldRule) -> bool:
    """Whether a field sent alike on two routes carries the same value to both: not the subject
    id (``pseudonymise``: each recipient's own keyed HMAC, docs/contract.md §3)."""
    return REGISTRY[rule.op].leaks and rule.op != "pseudonymise"


def _lifetime_faults(policy: Policy) -> list[str]:
    """A consent period on a purpose that needs no consent means nothing; one topic keeps its
    records for one retention, so every route to it declares the same."""
    faults = [
        f"purposes.{p.id}.consent_valid_for: the purpose needs no consent"
        for p in policy.purposes
        if p.consent_valid_for and not p.needs_consent
    ]
    if period(policy.forget_after) < MIN_FORGET_AFTER:
        faults.append(
            "forget_after: at least 2 days (the forgetting horizon is kept to the day: a shorter "
            "one would refuse grants that are not late)"
        )
    for attribute, (default, why) in _PER_TOPIC.items():
        declared: dict[str, set[str]] = {}
        for route in policy.routes:
            value = getattr(route, attribute)
            if value or default:
                topic = shared_topic(route.recipient, route.purpose)
                declared.setdefault(topic, set()).add(value or f"default ({default})")
        faults += [
            f"routes to {topic}: {attribute} differs between routes ({', '.join(sorted(kinds))}); "
            + why
            for topic, kinds in sorted(declared.items())
            if len(kinds) > 1
        ]
    return faults


def _duplicate_ids(section: str, ids: Iterable[str]) -> list[str]:
    return [f"{section}: id '{i}' is declared {n} times" for i, n in Counter(ids).items() if n > 1]


def _input_faults(policy: Policy) -> list[str]:
    categories = {c.id for c in policy.categories}
    faults: list[str] = []
    for topic, spec in policy.inputs.items():
        where = f"inputs.{topic}"
        paths = spec.paths()
        faults += [
            f"{where}.{'fields' if path in spec.fields else 'nested'}.{path}: "
            f"unknown category '{cat}'"
            for path, cat in paths.items()
            if cat not in categories
        ]
        faults += [
            f"{where}.{section}.{field}: not a classified field of {topic}"
            for section, names in (
                ("enums", spec.enums), ("ranges", spec.ranges), ("formats", spec.formats)
            )
            for field in names
            if field not in paths
        ]  # fmt: skip
        faults += [
            f"{where}.nested.{path}: '{top_field(path)}' is not a classified field of {topic}"
            for path in spec.nested
            if top_field(path) not in spec.fields
        ]
        faults += [
            f"{where}.ranges.{field}: the low bound is above the high bound"
            for field, (low, high) in spec.ranges.items()
            if isinstance(high, int) and low > high
        ]
    return faults


def _tagging_faults(policy: Policy) -> list[str]:
    purposes = {p.id for p in policy.purposes}
    faults: list[str] = []
    for topic, rules in policy.tagging.items():
        if topic not in policy.inputs:
            faults.append(f"tagging.{topic}: unknown input topic")
            continue
        for i, rule in enumerate(rules):
            where = f"tagging.{topic}[{i}]"
            faults += [
                f"{where}: unknown purpose '{p}'" for p in rule.purposes if p not in purposes
            ]
            faults += condition_faults(policy, topic, rule.when, f"{where}.when")
    return faults


def route_faults(policy: Policy, index: int, route: Route) -> list[str]:
    where = f"routes[{index}]"
    known = _unknown_references(policy, route, where)
    if known:
        return known
    faults = condition_faults(policy, route.source, route.when, f"{where}.when")
    tagged = {p for rule in policy.tagging.get(route.source, ()) for p in rule.purposes}
    if route.purpose not in tagged:
        faults.append(
            f"{where}: purpose '{route.purpose}' is never tagged on {route.source} events"
        )
    purpose = policy.purpose(route.purpose)
    if purpose.pseudonymised_only and not route.pseudonymised:
        faults.append(
            f"{where}: purpose '{purpose.id}' is pseudonymised only; set pseudonymised: true"
        )
    faults += subject_faults(route, f"{where}.fields.{CUSTOMER_ID}")
    if route.time_grain != "day" and not route.pseudonymised:
        faults.append(f"{where}.time_grain: only a pseudonymised route's event time is coarsened")
    categories = policy.inputs[route.source].fields
    for field, rule in route.fields.items():
        faults += _field_faults(policy, route, f"{where}.fields", field, rule, categories)
    return faults


def _unknown_references(policy: Policy, route: Route, where: str) -> list[str]:
    faults: list[str] = []
    if route.recipient not in {r.id for r in policy.recipients}:
        faults.append(f"{where}: unknown recipient '{route.recipient}'")
    if route.purpose not in {p.id for p in policy.purposes}:
        faults.append(f"{where}: unknown purpose '{route.purpose}' (not a Section 5 purpose)")
    if route.source not in policy.inputs:
        faults.append(f"{where}: unknown source topic '{route.source}'")
    return faults


def _field_faults(
    policy: Policy,
    route: Route,
    where: str,
    field: str,
    rule: FieldRule,
    categories: Mapping[str, str],
) -> list[str]:
    if field not in categories:
        return [f"{where}: '{field}' is not a field of {route.source}"]
    operator = REGISTRY[rule.op]
    faults = [
        f"{where}.{field}: operator {rule.op} takes no parameter '{p}'"
        for p in rule.params()
        if p not in operator.params
    ]
    known = {c.id for c in policy.categories}
    if categories[field] not in known:
        return faults  # reported once under inputs.*
    faults += _category_faults(route, where, field, rule, policy.category(categories[field]))
    if rule.op == "generalise":
        faults += _generalise_faults(policy, route, where, field, rule)
    if rule.op == "keep":
        # A kept field that holds records keeps their classified keys: each must be allowed.
        nested = policy.inputs[route.source].nested_under(field)
        if rule.only is not None:  # only these keys of the records inside go
            faults += [f"{where}.{field}.only: '{k}' is no key inside {field}" for k in rule.only
                       if f"{field}[].{k}" not in nested]  # fmt: skip
            nested = {p: c for p, c in nested.items() if p.rsplit(".", 1)[-1] in rule.only}
        for path, category_id in nested.items():
            if category_id in known:
                faults += _category_faults(
                    route, where, path, rule, policy.category(category_id)
                )  # fmt: skip
    return faults


def _generalise_faults(
    policy: Policy, route: Route, where: str, field: str, rule: FieldRule
) -> list[str]:
    """One kind of band per field; ``by`` (with ``groups``) names a key inside the records a
    field holds, and a field holding records is generalised only so; a value in one group."""
    faults: list[str] = []
    kinds = [p for p in ("width", "keep_values", "groups") if getattr(rule, p) is not None]
    if len(kinds) > 1:
        faults.append(f"{where}.{field}: generalise takes one of width, keep_values, groups")
    if rule.by is not None and rule.groups is None:
        faults.append(f"{where}.{field}.by: needs groups (the values each group stands for)")
    nested = policy.inputs[route.source].nested_under(field)
    path = f"{field}[].{rule.by}"
    if nested and rule.by is None:
        faults.append(
            f"{where}.{field}: holds records; generalise it by one of their keys (by, groups)"
        )
    elif rule.by is not None and path not in nested:
        faults.append(f"{where}.{field}.by: '{rule.by}' is no key inside the records of {field}")
    elif rule.by is not None and nested[path] in {c.id for c in policy.categories}:
        category = policy.category(nested[path])
        faults += _category_faults(route, where, path, rule, category)
    listed = Counter(v for values in (rule.groups or {}).values() for v in values)
    faults += [
        f"{where}.{field}.groups: '{value}' is listed in {n} groups"
        for value, n in listed.items()
        if n > 1
    ]
    return faults


def _category_faults(
    route: Route, where: str, field: str, rule: FieldRule, category: Category
) -> list[str]:
    """Whether the rule may let out a field (or a key kept inside one) of this category."""
    operator = REGISTRY[rule.op]
    faults: list[str] = []
    if operator.leaks and not category.shared_item:
        faults.append(f"{where}: '{field}' is not a Section 6 shared item ({category.id})")
    if rule.op == "pseudonymise" and category.id != IDENTIFIER:
        faults.append(f"{where}.{field}: pseudonymise applies to the customer id only")
    if rule.op == "generalise" and category.on_pseudonymised == "forbidden":
        faults.append(f"{where}.{field}: generalise does not apply to category {category.id}")
    if route.pseudonymised and operator.leaks:
        faults += _pseudonymised_field_faults(where, field, rule, category)
    return faults


def _pseudonymised_field_faults(
    where: str, field: str, rule: FieldRule, category: Category
) -> list[str]:
    if category.on_pseudonymised == "forbidden" and rule.op != "pseudonymise":
        return [f"{where}: '{field}' ({category.id}) may not go on a pseudonymised route"]
    if category.on_pseudonymised == "generalised" and rule.op != "generalise":
        return [
            f"{where}: '{field}' ({category.id}) goes on a pseudonymised route generalised only"
        ]
    return []
