"""The merge's runs: ``pop_many`` releases what ``pop`` would, one call after the other, up to
a limit, and asks each input's lag once per run (the broker's offsets do not move meanwhile)."""

from __future__ import annotations

import pytest

from agents.merge import Wait
from policy.ordering import EVENT, GRANT
from tests.unit.agents.merges import IDLE, Add, drain, lag_of, merger_with

POP_MANY = [
    # the same records in the same order as pop() one at a time, up to the limit
    (
        [("orders", 0, 0, 10, EVENT), ("orders", 1, 0, 5, EVENT), ("consents", 0, 0, 1, GRANT)],
        set(),
        10,
        ["consents/0@0", "orders/1@0", "orders/0@0"],
    ),
    # the limit cuts the run; the rest stays for the next call
    ([("orders", 0, 0, 10, EVENT), ("orders", 0, 1, 11, EVENT)], set(), 1, ["orders/0@0"]),
    # a waiting partition ends the run where pop() would have said Wait
    ([("orders", 0, 0, 10, EVENT)], {("consents", 0)}, 10, []),
]


@pytest.mark.parametrize(("adds", "lagging", "limit", "expected"), POP_MANY)
def test_when_many_are_popped_then_they_are_what_pop_releases_one_by_one(
    adds: list[Add], lagging: set[tuple[str, int]], limit: int, expected: list[str]
) -> None:
    one_by_one, _ = drain(merger_with(adds), now=0.0, lagging=lagging)
    outcome = merger_with(adds).pop_many(0.0, lag_of(lagging), limit)
    if not expected:
        assert outcome == Wait(IDLE)
        return
    assert isinstance(outcome, list)
    assert [r.entry.item for r in outcome] == expected == one_by_one[:limit]


def test_when_many_are_popped_then_each_input_lag_is_asked_once() -> None:
    merger = merger_with([("orders", 0, i, float(i), EVENT) for i in range(50)])
    asked: list[tuple[str, int]] = []

    def lagging(topic: str, partition: int, last: int | None) -> bool:
        asked.append((topic, partition))
        return False

    outcome = merger.pop_many(0.0, lagging, 100)
    assert isinstance(outcome, list) and len(outcome) == 50
    assert sorted(asked) == sorted(set(asked))  # every (topic, partition) once
