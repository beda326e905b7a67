"""The join measure of ``purposegate linkability`` (``policy.linkability``): a table of small
pseudonymised and named record sets, and the golden stream under the shipped policy."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from office.linkage import route_records
from policy.compile import compile_policy
from policy.keys import ephemeral_keys
from policy.linkability import GOAL, RouteLinkage, measure
from policy.loader import load_policy
from policy.models import Policy
from wire.sample import sample_lines

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "input.jsonl"
DAY = datetime(2026, 11, 24, tzinfo=UTC)


def policy_of(pseudonymised: dict[str, Any], named: dict[str, Any], grain: str = "day") -> Policy:
    """A shipped policy whose routes are just two: a pseudonymised and a named one."""
    base = load_policy()
    routes = [
        {"recipient": "enfinity", "purpose": "product_development", "source": "orders",
         "pseudonymised": True, "time_grain": grain,
         "fields": {"customer_id": {"op": "pseudonymise"}, **pseudonymised}},
        {"recipient": "septem-financial", "purpose": "fulfilment", "source": "orders",
         "fields": named},
    ]  # fmt: skip
    return base.model_copy(update={"routes": tuple(base.model_validate(
        {**base.model_dump(by_alias=True), "routes": routes}).routes)})  # fmt: skip


P = "enfinity/product_development/orders"
N = "septem-financial/fulfilment/orders"
KEEP = {"op": "keep"}
BAND = {"op": "generalise", "width": 5000}
LINES = {"op": "keep", "only": ["sku"]}


def at(hour: int) -> datetime:
    return DAY.replace(hour=hour)


def lines(*skus: str, quantity: int = 1) -> list[dict[str, Any]]:
    return [
        {"sku": s, "product_name": s, "quantity": quantity, "unit_price_jpy": 1000} for s in skus
    ]


CASES = [
    # the issue's join: the same total on the same day, one named record each: both linked
    (
        {"total_jpy": KEEP},
        {"total_jpy": KEEP},
        [{"event_time": DAY, "total_jpy": 3300}, {"event_time": DAY, "total_jpy": 6600}],
        [{"event_time": at(9), "total_jpy": 3300}, {"event_time": at(10), "total_jpy": 6600}],
        "day",
        2,
    ),
    # two named records share the value: no unique join
    (
        {"total_jpy": KEEP},
        {"total_jpy": KEEP},
        [{"event_time": DAY, "total_jpy": 3300}],
        [{"event_time": at(9), "total_jpy": 3300}, {"event_time": at(10), "total_jpy": 3300}],
        "day",
        0,
    ),
    # banded amounts: the named value is banded alike, and both fall in one band
    (
        {"total_jpy": BAND},
        {"total_jpy": KEEP},
        [{"event_time": DAY, "total_jpy_band": "0-4999"}],
        [{"event_time": at(9), "total_jpy": 3300}, {"event_time": at(10), "total_jpy": 4000}],
        "day",
        0,
    ),
    # ... one named record alone in the band: linked
    (
        {"total_jpy": BAND},
        {"total_jpy": KEEP},
        [{"event_time": DAY, "total_jpy_band": "5000-9999"}],
        [{"event_time": at(9), "total_jpy": 3300}, {"event_time": at(10), "total_jpy": 6600}],
        "day",
        1,
    ),
    # any combination: the time alone names the one named record of that day
    (
        {"status": KEEP},
        {"status": KEEP},
        [{"event_time": DAY, "status": "paid"}],
        [{"event_time": at(9), "status": "placed"}],
        "day",
        1,
    ),
    # the month: two named records of that month, no other value: no join
    (
        {"status": KEEP},
        {"order_id": KEEP},
        [{"event_time": DAY.replace(day=1), "status": "paid"}],
        [{"event_time": at(9)}, {"event_time": at(9).replace(day=2)}],
        "month",
        0,
    ),
    # lines with prices the named route lacks: their sum is a total, and joins
    (
        {"items": KEEP},
        {"total_jpy": KEEP},
        [{"event_time": DAY, "items": lines("A", "B")}],
        [{"event_time": at(9), "total_jpy": 2000}, {"event_time": at(10), "total_jpy": 3000}],
        "day",
        1,
    ),
    # SKUs only: no price, no quantity, no total to join by
    (
        {"items": LINES},
        {"total_jpy": KEEP},
        [{"event_time": DAY, "items": [{"sku": "A"}, {"sku": "B"}]}],
        [{"event_time": at(9), "total_jpy": 2000}, {"event_time": at(10), "total_jpy": 3000}],
        "day",
        0,
    ),
    # two pseudonymised records alike join the one named record: one of them is its own,
    # which the attacker cannot tell: one record linked (1/2 each)
    (
        {"total_jpy": KEEP},
        {"total_jpy": KEEP},
        [{"event_time": DAY, "total_jpy": 3300}, {"event_time": DAY, "total_jpy": 3300}],
        [{"event_time": at(9), "total_jpy": 3300}],
        "day",
        1,
    ),
    # no named record at all: nothing to join
    ({"total_jpy": KEEP}, {"total_jpy": KEEP}, [{"event_time": DAY, "total_jpy": 1}], [], "day", 0),
]


QUARTER = DAY.replace(month=10, day=1)
GROUPS = {"op": "generalise", "by": "sku", "groups": {"care": ["A", "C"], "sun": ["S"]}}
RETURNS = {"op": "generalise", "keep_values": ["returned"]}
RETURNS_CANCELS = {"op": "generalise", "keep_values": ["returned", "cancelled"]}


def subjects(count: int, **value: Any) -> list[dict[str, Any]]:
    """``count`` pseudonymised records alike, one subject each."""
    return [{**value, "subject_pseudonym": f"p{i}"} for i in range(count)]


#: The literal reading (``joined``): a record joins when ONE named record has its values, however
#: many pseudonymised records share them. The rare combinations the sample showed, and how the
#: shipped policy's generalisations close them; the measure still finds what they leave.
RARE = [
    # the overseas carrier's one order of a SKU set in the quarter: every record of that set joins
    (
        {"items": LINES},
        {"items": KEEP},
        subjects(3, event_time=QUARTER, items=[{"sku": "A"}, {"sku": "C"}]),
        [
            {"event_time": at(9), "items": lines("A", "C")},
            {"event_time": at(10), "items": lines("A")},
        ],
        "quarter",
        (1, 3),
    ),
    # ... as product groups: A and C are both care, so two named orders look alike: no join
    (
        {"items": GROUPS},
        {"items": KEEP},
        subjects(3, event_time=QUARTER, items_band=["care"]),
        [
            {"event_time": at(9), "items": lines("A", "C")},
            {"event_time": at(10), "items": lines("A")},
        ],
        "quarter",
        (0, 0),
    ),
    # ... a group set one named order alone has still joins (the groups are compared, not dropped)
    (
        {"items": GROUPS},
        {"items": KEEP},
        subjects(2, event_time=QUARTER, items_band=["care", "sun"]),
        [
            {"event_time": at(9), "items": lines("A", "S")},
            {"event_time": at(10), "items": lines("A")},
        ],
        "quarter",
        (1, 2),
    ),
    # ... a SKU no group lists is other on both sides, and is compared as such
    (
        {"items": GROUPS},
        {"items": KEEP},
        subjects(1, event_time=QUARTER, items_band=["other"]),
        [{"event_time": at(9), "items": lines("NEW")}, {"event_time": at(10), "items": lines("A")}],
        "quarter",
        (1, 1),
    ),
    # ... no SKU on the named lines (only quantities kept): nothing to group, nothing to join by
    (
        {"items": GROUPS},
        {"items": {"op": "keep", "only": ["quantity"]}, "order_id": KEEP},
        subjects(1, event_time=QUARTER, items_band=["sun"]),
        [{"event_time": at(9), "items": [{"quantity": 1}]}, {"event_time": at(10), "items": []}],
        "quarter",
        (0, 0),
    ),
    # ... and the groups carry no price: no total to add up against the named total
    (
        {"items": GROUPS},
        {"total_jpy": KEEP, "order_id": KEEP},
        subjects(1, event_time=QUARTER, items_band=["care"]),
        [{"event_time": at(9), "total_jpy": 1000}, {"event_time": at(10), "total_jpy": 0}],
        "quarter",
        (0, 0),
    ),
    # a cancellation alone among the quarter's named orders: every cancelled record joins it
    (
        {"status": RETURNS_CANCELS},
        {"status": KEEP},
        subjects(2, event_time=QUARTER, status_band="cancelled"),
        [{"event_time": at(9), "status": "cancelled"}, {"event_time": at(10), "status": "paid"}],
        "quarter",
        (1, 2),
    ),
    # ... with only returns kept, a cancellation is other like the paid order: no join
    (
        {"status": RETURNS},
        {"status": KEEP},
        subjects(2, event_time=QUARTER, status_band="other"),
        [{"event_time": at(9), "status": "cancelled"}, {"event_time": at(10), "status": "paid"}],
        "quarter",
        (0, 0),
    ),
    # the quarter alone: one named record in it joins every record of the quarter
    (
        {"status": RETURNS},
        {"order_id": KEEP},
        subjects(4, event_time=QUARTER, status_band="other"),
        [{"event_time": at(9)}, {"event_time": at(9).replace(month=3)}],
        "quarter",
        (1, 4),
    ),
    # ... the year holds both named records: no join by time
    (
        {"status": RETURNS},
        {"order_id": KEEP},
        subjects(4, event_time=DAY.replace(month=1, day=1), status_band="other"),
        [{"event_time": at(9)}, {"event_time": at(9).replace(month=3)}],
        "year",
        (0, 0),
    ),
]


@pytest.mark.parametrize(("mine", "theirs", "p_records", "n_records", "grain", "expected"), RARE)
def test_when_a_combination_is_rare_among_named_records_then_joined_counts_every_match(
    mine: dict[str, Any],
    theirs: dict[str, Any],
    p_records: list[dict[str, Any]],
    n_records: list[dict[str, Any]],
    grain: str,
    expected: tuple[float, int],
) -> None:
    found = measure(policy_of(mine, theirs, grain), {P: p_records, N: n_records})
    assert [(row.route, round(row.linked, 6), row.joined) for row in found] == [(P, *expected)]


OVER = [
    # under the goal both ways
    (1000, 10.0, 10, False),
    # linked over the goal
    (1000, 10.5, 10, True),
    # joined over the goal, though few are linked (the records alike with many others')
    (1000, 0.5, 11, True),
    # no records: nothing over
    (0, 0.0, 0, False),
]


@pytest.mark.parametrize(("records", "linked", "joined", "over"), OVER)
def test_when_either_reading_is_over_one_percent_then_the_route_is_over_the_goal(
    records: int, linked: float, joined: int, over: bool
) -> None:
    assert RouteLinkage(P, records, linked, joined).over_goal is over


@pytest.mark.parametrize(("mine", "theirs", "p_records", "n_records", "grain", "linked"), CASES)
def test_when_records_are_joined_then_only_unique_matches_count(
    mine: dict[str, Any],
    theirs: dict[str, Any],
    p_records: list[dict[str, Any]],
    n_records: list[dict[str, Any]],
    grain: str,
    linked: int,
) -> None:
    found = measure(policy_of(mine, theirs, grain), {P: p_records, N: n_records})
    assert [(row.route, round(row.linked, 6)) for row in found] == [(P, linked)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_when_a_sample_stream_is_decided_then_every_pseudonymised_route_meets_the_goal(
    seed: int,
) -> None:
    # The golden stream (160 events of 12 customers within a day) is no crowd to hide in: any
    # value singles out one of its few named records. 20,000 events (about 3.5 months) are
    # the smallest stream the generator makes that is like the real one per quarter; a route
    # with under 100 records cannot show 1%, so one record is allowed there. Both readings:
    # the records linked (a join's candidates counted as subjects) and the records that join
    # one named record at all (the issue's literal "join to exactly one named record").
    policy = load_policy()
    compiled = compile_policy(policy, ephemeral_keys(r.id for r in policy.recipients))
    lines = enumerate(
        (line.encode() for line in sample_lines(seed=seed, customers=2000, events=20_000)), 1
    )
    found = measure(policy, route_records(lines, compiled, datetime.now(UTC)))
    assert {row.route for row in found} == {r.id for r in policy.routes if r.pseudonymised}
    assert all(row.records > 50 for row in found)
    assert [row for row in found if row.linked > max(GOAL * row.records, 1.0)] == []
    assert [row for row in found if row.joined > max(GOAL * row.records, 1)] == []


def test_when_golden_pseudonymised_records_are_read_then_the_issues_join_keys_are_gone() -> None:
    # The issue's join: (total_jpy, day, status) named 71% of Souken's order records.
    expected = GOLDEN.parent / "expected"
    pseudonymised = [
        "shared.enfinity.product_development",
        "shared.septem-souken.product_development",
    ]
    seen = 0
    for topic in pseudonymised:
        for line in (expected / f"{topic}.jsonl").read_text(encoding="utf-8").splitlines():
            value = json.loads(line)["value"]
            if value is None:
                continue
            seen += 1
            when = datetime.fromisoformat(value["event_time"].replace("Z", "+00:00"))
            assert (when.month - 1) % 3 == 0 and when.day == 1 and when.hour == 0
            assert not {"total_jpy", "status", "prefecture", "country", "items"} & value.keys()
            if value["source_topic"] == "orders":  # product groups, not lines nor SKUs
                assert set(value["items_band"]) <= {"skincare", "cleansing", "sun_care", "other"}
                assert value["status_band"] in {"returned", "other"}
    assert seen
