"""The compiled projection of a route (``policy.route_projection``) builds exactly what
projecting the record field by field builds: same keys, same order, same values, same
exceptions; and every route of the real policy, on the sample events, agrees with that reading."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from policy.operators import time_coarsener
from policy.route_projection import Step, projection
from tests.unit.policy.samples import compiled, entry, inquiry, order

T = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
BASE: dict[str, Any] = {"event_id": "e-1", "event_time": T, "a": 1, "b": "x", "c": [1, 2]}


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else None


def _boom(value: Any) -> Any:
    raise ValueError("transform failed")


def step_by_step(
    steps: tuple[Step, ...],
    record: Mapping[str, Any],
    event_ids: Callable[[str], str] | None,
    coarsen: Callable[[datetime], datetime],
) -> dict[str, Any]:
    """The reading the compiled function must equal: envelope, then each step in order."""
    value: dict[str, Any] = {
        "event_id": record["event_id"] if event_ids is None else event_ids(record["event_id"]),
        "event_time": record["event_time"] if event_ids is None else coarsen(record["event_time"]),
        "source_topic": "orders",
        "purpose": "p",
        "recipient": "r",
        "policy_version": "v",
    }
    for field, output_key, transform in steps:
        value[output_key] = record.get(field) if transform is None else transform(record.get(field))
    return value


CASES: list[tuple[tuple[Step, ...], dict[str, Any], bool]] = [
    # no field at all: the envelope only
    ((), BASE, False),
    # one field as it is
    ((("a", "a", None),), BASE, False),
    # several fields, one transformed, in the route's order (not the record's)
    ((("b", "b_up", _upper), ("a", "a", None)), BASE, False),
    # a field the record lacks: null, as the unvalidated record's step by step reading gave
    ((("a", "a", None), ("missing", "missing", None)), BASE, False),
    # an absent field through a transform: the transform sees None
    ((("missing", "m", _upper), ("b", "b", None)), BASE, False),
    # two fields to one output key: first position, last value
    ((("a", "k", None), ("b", "k", None), ("c", "c", None)), BASE, False),
    # an output key that is an envelope key: the envelope's position, the field's value
    ((("b", "event_id", None), ("a", "a", None)), BASE, False),
    # a pseudonymised route: keyed event id and coarse event time
    ((("a", "a", None), ("b", "b", _upper)), BASE, True),
    # a container value goes by identity when the plan leaves it as it is
    ((("c", "c", None),), BASE, False),
]


@pytest.mark.parametrize(("steps", "record", "pseudonymised"), CASES)
def test_when_a_route_is_compiled_then_it_projects_as_step_by_step(
    steps: tuple[Step, ...], record: dict[str, Any], pseudonymised: bool
) -> None:
    event_ids = (lambda e: f"h({e})") if pseudonymised else None
    coarsen = time_coarsener("month")
    project = projection(steps, "p", "r", event_ids, coarsen)
    got = project(record, "orders", "v")
    want = step_by_step(steps, record, event_ids, coarsen)
    assert list(got.items()) == list(want.items())
    assert [type(v) for v in got.values()] == [type(v) for v in want.values()]


FAILS: list[tuple[tuple[Step, ...], dict[str, Any], type[Exception]]] = [
    # a record without its event id fails as it did
    ((("a", "a", None),), {"event_time": T, "a": 1}, KeyError),
    # a record without its event time fails as it did
    ((("a", "a", None),), {"event_id": "e", "a": 1}, KeyError),
    # a transform that raises is not swallowed
    ((("a", "a", _boom),), BASE, ValueError),
]


@pytest.mark.parametrize(("steps", "record", "error"), FAILS)
def test_when_projection_fails_then_it_raises_as_step_by_step(
    steps: tuple[Step, ...], record: dict[str, Any], error: type[Exception]
) -> None:
    project = projection(steps, "p", "r", None, time_coarsener("day"))
    with pytest.raises(error):
        project(record, "orders", "v")
    with pytest.raises(error):
        step_by_step(steps, record, None, time_coarsener("day"))


RECORDS: list[tuple[str, dict[str, Any]]] = [
    # an order with lines
    ("orders", order()),
    # an order missing a route's field (an unvalidated record)
    ("orders", {k: v for k, v in order().items() if k != "phone"}),
    # an order line with an unclassified key and a non-record line
    ("orders", {**order(), "items": [{"sku": "A", "extra": 1}, "not-a-line"]}),
    # an inquiry
    ("inquiries", inquiry()),
    # a campaign entry
    ("campaign-entries", entry()),
]


@pytest.mark.parametrize(("topic", "record"), RECORDS)
def test_when_the_policy_is_compiled_then_every_route_projects_as_step_by_step(
    topic: str, record: dict[str, Any]
) -> None:
    policy = compiled()
    for plan in policy.plans[topic]:
        want = step_by_step(
            plan.steps,
            record,
            plan.event_ids,
            plan.coarsen,
        )
        want.update(source_topic=topic, purpose=plan.purpose, recipient=plan.recipient)
        want["policy_version"] = policy.version
        got = plan.project(record, topic, policy.version)
        assert list(got.items()) == list(want.items()), plan.route_id
