"""Runs one privacy-office case (``policy.cases``) through the one flow
(``flow.path.InOrder``), as every runner decides, and says how the outcome differs from the
case's expectations: one readable line per difference, none when the case holds. No I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from flow.path import InOrder
from policy.cases import Case, Consent, Event, Request, RouteExpectation, latest
from policy.compile import CompiledPolicy
from policy.decision import Decision, RouteDecision
from policy.errors import ConfigError
from policy.ordering import decision_order
from policy.topics import CONSENTS, SUBJECT_REQUESTS
from policy.validation import InputEvent, Invalid, validate

Item = Consent | Request | Event


def run_case(
    case: Case,
    templates: Mapping[str, Mapping[str, Any]],
    c: CompiledPolicy,
    every_route: bool = False,
) -> list[str]:
    """The differences between what the policy decides and what the case expects."""
    return check_case(case, templates, c, every_route)[1]


def check_case(
    case: Case,
    templates: Mapping[str, Mapping[str, Any]],
    c: CompiledPolicy,
    every_route: bool = False,
) -> tuple[Decision, list[str]]:
    """The case's decision, and its differences from the expectations. ``every_route``: a
    route considered that the case does not name is a difference too."""
    decision = decide_case(case, templates, c)
    differences = _route_diff(case.expect, decision.decisions, every_route)
    return decision, differences + _tombstone_diff(case, decision)


def decide_case(
    case: Case, templates: Mapping[str, Mapping[str, Any]], c: CompiledPolicy
) -> Decision:
    """The decision about the case's event, after its history in decision order (the event
    itself comes last, as a late event would when dated before its history)."""
    now = latest(case) + timedelta(minutes=1)
    history = [
        _checked(case, item, f"state[{i}]", templates, c, now) for i, item in enumerate(case.state)
    ]
    target = _checked(case, case.event, "event", templates, c, now)
    run = InOrder(c)
    for event in sorted(history, key=decision_order):
        run.decide(event)
    return run.decide(target)


def _checked(
    case: Case,
    item: Item,
    where: str,
    templates: Mapping[str, Mapping[str, Any]],
    c: CompiledPolicy,
    now: datetime,
) -> InputEvent:
    topic, value = _record(case, item, where, templates)
    checked = validate(topic, value, c, now)
    if isinstance(checked, Invalid):
        raise ConfigError(f"case {case.name}: {where}: {checked.error}")
    return checked


def _record(
    case: Case, item: Item, where: str, templates: Mapping[str, Mapping[str, Any]]
) -> tuple[str, dict[str, Any]]:
    common = {
        "event_id": f"{case.name}-{where}",
        "event_time": item.at,
        "customer_id": case.customer,
    }
    if isinstance(item, Consent):
        return CONSENTS, {
            **common,
            "scope": item.consent,
            "granted": item.granted,
            "source": "case",
        }
    if isinstance(item, Request):
        return SUBJECT_REQUESTS, {
            **common,
            "kind": item.request,
            "identity_verified": item.verified,
        }
    if item.topic not in templates and item.topic not in (CONSENTS, SUBJECT_REQUESTS):
        raise ConfigError(f"case {case.name}: {where}: no template for topic '{item.topic}'")
    return item.topic, {**templates.get(item.topic, {}), **common, **item.value}


def _route_diff(
    expect: Mapping[str, RouteExpectation], got: Iterable[RouteDecision], every_route: bool
) -> list[str]:
    considered = {f"{d.recipient}/{d.purpose}": d for d in got}
    lines = [
        f"{route}: expected {want.outcome}, but the route was not considered (its condition "
        "does not hold, or the event is not tagged with its purpose)"
        for route, want in sorted(expect.items())
        if route not in considered
    ]
    for route, decided in sorted(considered.items()):
        want = expect.get(route)
        if want is None and every_route:
            lines.append(
                f"{route}: {decided.outcome} ({decided.reason}), but the case does not name it"
            )
        if want is not None:
            lines += _one_route(route, want, decided)
    return lines


def _one_route(route: str, want: RouteExpectation, got: RouteDecision) -> list[str]:
    lines = []
    if want.outcome != got.outcome:
        lines.append(f"{route}: expected {want.outcome}, got {got.outcome} ({got.reason})")
    if want.reason is not None and want.reason != got.reason:
        lines.append(f"{route}: expected reason {want.reason}, got {got.reason}")
    lines += _fields(route, "fields sent", want.fields_sent, got.fields_sent)
    lines += _fields(route, "fields withheld", want.fields_withheld, got.fields_redacted)
    return lines


def _fields(route: str, what: str, want: tuple[str, ...] | None, got: tuple[str, ...]) -> list[str]:
    if want is None or set(want) == set(got):
        return []
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    parts = ([f"expected but not there: {', '.join(missing)}"] if missing else []) + (
        [f"there but not expected: {', '.join(extra)}"] if extra else []
    )
    return [f"{route}: {what}: {'; '.join(parts)}"]


def _tombstone_diff(case: Case, decision: Decision) -> list[str]:
    if case.tombstones is None:
        return []
    got = sorted({t.topic for t in decision.tombstones})
    want = sorted(case.tombstones)
    if got == want:
        return []
    return [
        f"withdrawal notices: expected {', '.join(want) or 'none'}, got {', '.join(got) or 'none'}"
    ]
