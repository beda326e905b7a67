"""The event-time merge: per partition number, the earliest head of the five input FIFOs goes
first (ties by the contract's rank), an empty input with lag is waited for up to the idle bound,
an undecodable record leaves when it heads its FIFO, and FIFOs are never reordered.

A wait for records in transit lasts while the partition keeps reading, until IDLE without a
read of it, and never longer than MAX_WAIT; a wait for records known on the broker has no bound.
A FIFO that runs ahead is not fetched until it is down to half (the fetch serves the merge)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agents.merge import Entry, FetchPlan, Lag, Merger, Released, Wait
from policy.ordering import EVENT, GRANT, RESUMPTION, SUSPENSION, WITHDRAWAL
from tests.unit.agents.merges import IDLE, MAX_WAIT, T0, TOPICS, Add, drain, lag_of, merger_with


def add(
    merger: Merger[str], topic: str, partition: int, offset: int, seconds: float, now: float
) -> None:
    order = (T0 + timedelta(seconds=seconds), EVENT if topic != "consents" else GRANT)
    merger.add(topic, partition, Entry(offset, order, f"{topic}/{partition}@{offset}"), now)


ORDERING = [
    # the earliest head goes first, across topics
    (
        [("orders", 0, 0, 10, EVENT), ("orders", 0, 1, 30, EVENT), ("consents", 0, 0, 20, GRANT)],
        ["orders/0@0", "consents/0@0", "orders/0@1"],
    ),
    # equal event_time: withdrawal, suspension, grant, resumption, then events
    (
        [
            ("orders", 0, 0, 5, EVENT),
            ("subject-requests", 0, 0, 5, RESUMPTION),
            ("consents", 0, 0, 5, GRANT),
            ("inquiries", 0, 0, 5, EVENT),
        ],
        ["consents/0@0", "subject-requests/0@0", "orders/0@0", "inquiries/0@0"],
    ),
    (
        [("subject-requests", 0, 0, 5, SUSPENSION), ("consents", 0, 0, 5, WITHDRAWAL)],
        ["consents/0@0", "subject-requests/0@0"],
    ),
    # equal time and rank: the topic order decides (deterministic)
    (
        [("campaign-entries", 0, 0, 5, EVENT), ("orders", 0, 0, 5, EVENT)],
        ["orders/0@0", "campaign-entries/0@0"],
    ),
    # a FIFO is never reordered: a later record ahead of an earlier one in the same partition
    (
        [
            ("consents", 0, 0, 50, GRANT),
            ("consents", 0, 1, 10, WITHDRAWAL),
            ("orders", 0, 0, 20, 4),
        ],
        ["orders/0@0", "consents/0@0", "consents/0@1"],
    ),
    # an undecodable record leaves at once when it heads its FIFO...
    (
        [("orders", 0, 0, None, EVENT), ("consents", 0, 0, 1, GRANT)],
        ["orders/0@0", "consents/0@0"],
    ),
    # ...but never overtakes the records before it in its FIFO
    (
        [("orders", 0, 0, 30, EVENT), ("orders", 0, 1, None, EVENT), ("consents", 0, 0, 20, 2)],
        ["consents/0@0", "orders/0@0", "orders/0@1"],
    ),
    # partition numbers are independent: partition 1's late head does not hold partition 0
    (
        [("orders", 0, 0, 50, EVENT), ("orders", 1, 0, 10, EVENT), ("orders", 0, 1, 60, EVENT)],
        ["orders/0@0", "orders/1@0", "orders/0@1"],
    ),
]


@pytest.mark.parametrize(("adds", "expected"), ORDERING)
def test_when_heads_are_present_then_records_leave_in_decision_order(
    adds: list[Add], expected: list[str]
) -> None:
    released, wait = drain(merger_with(adds), now=0.0, lagging=set())
    per_partition = {p: [r for r in released if r.split("/")[1].startswith(str(p))] for p in (0, 1)}
    want = {p: [r for r in expected if r.split("/")[1].startswith(str(p))] for p in (0, 1)}
    assert per_partition == want
    assert wait == Wait(None)


WAITING = [
    # an empty input with lag holds the partition until the idle bound runs out
    ([("orders", 0, 0, 10, EVENT)], {("consents", 0)}, 0.0, [], Wait(IDLE)),
    ([("orders", 0, 0, 10, EVENT)], {("consents", 0)}, 0.4, [], Wait(IDLE)),
    # an empty input without lag is not waited for
    ([("orders", 0, 0, 10, EVENT)], set(), 0.0, ["orders/0@0"], Wait(None)),
    # lag on another partition number does not hold this one
    ([("orders", 0, 0, 10, EVENT)], {("consents", 1)}, 0.0, ["orders/0@0"], Wait(None)),
    # an input that has a head is not waited for, whatever its lag
    (
        [("orders", 0, 0, 10, EVENT), ("consents", 0, 0, 20, GRANT)],
        {("consents", 0)} | {(t, 0) for t in ("inquiries", "campaign-entries")},
        0.0,
        [],
        Wait(IDLE),
    ),
    # an undecodable head leaves even while another input lags
    ([("orders", 0, 0, None, EVENT)], {("consents", 0)}, 0.0, ["orders/0@0"], Wait(None)),
]


@pytest.mark.parametrize(("adds", "lagging", "now", "released", "wait"), WAITING)
def test_when_an_empty_input_has_lag_then_the_partition_waits(
    adds: list[Add], lagging: set[tuple[str, int]], now: float, released: list[str], wait: Wait
) -> None:
    merger = merger_with(adds)
    if now:
        merger.pop(0.0, lag_of(lagging))  # the wait starts at 0
    assert drain(merger, now, lagging) == (released, wait)


def test_when_the_idle_bound_runs_out_then_the_partition_goes_on_until_the_input_has_data() -> None:
    merger = merger_with([("orders", 0, 0, 10, EVENT), ("orders", 0, 1, 20, EVENT)])
    lagging = {("consents", 0)}
    assert merger.pop(0.0, lag_of(lagging)) == Wait(IDLE)
    first = merger.pop(IDLE, lag_of(lagging))
    assert isinstance(first, Released) and first.lagging == ("consents",)
    # still lagging and empty: no new wait, the partition keeps going
    second = merger.pop(IDLE + 0.01, lag_of(lagging))
    assert isinstance(second, Released) and second.enforced
    # nothing held now; a new record, the same input still lagging: given up, no new wait
    add(merger, "orders", 0, 2, 25, now=0.6)
    third = merger.pop(0.6, lag_of(lagging))
    assert isinstance(third, Released) and third.enforced
    # the input got data: the next empty-with-lag spell waits again from scratch
    add(merger, "consents", 0, 0, 30, now=1.0)
    add(merger, "orders", 0, 3, 40, now=1.0)
    fourth = merger.pop(1.0, lag_of(lagging))
    assert (
        isinstance(fourth, Released) and not fourth.enforced and fourth.entry.item.startswith("c")
    )
    assert merger.pop(1.0, lag_of(lagging)) == Wait(1.0 + IDLE)


WAIT_LONGER = [
    # a read on the same partition number at 0.3 s: the record awaited may be on its way
    ([(0, 0.3)], 0.6, Wait(0.3 + IDLE)),
    # reads of it keep coming: the wait goes on...
    ([(0, 0.3), (0, 0.7), (0, 1.1), (0, 1.5)], 1.6, Wait(1.5 + IDLE)),
    # ...but never beyond MAX_WAIT
    ([(0, x / 10) for x in range(1, 60)], MAX_WAIT, None),
    # reads of another partition number say nothing of this one's records: no longer wait
    ([(1, 0.3), (1, 0.7)], IDLE, None),
]


@pytest.mark.parametrize(("reads", "now", "outcome"), WAIT_LONGER)
def test_when_the_partition_keeps_reading_then_an_input_in_transit_is_waited_for_longer(
    reads: list[tuple[int, float]], now: float, outcome: Wait | None
) -> None:
    merger = merger_with([("orders", 0, 0, 10, EVENT)])
    lagging = {("consents", 0), ("consents", 1)}
    assert merger.pop(0.0, lag_of(lagging)) == Wait(IDLE)
    for offset, (partition, at) in enumerate(reads):
        add(merger, "inquiries", partition, offset, 100 + offset, now=at)
    result = merger.pop(now, lag_of(lagging))
    if outcome is None:
        assert isinstance(result, Released) and result.enforced and result.partition == 0
    else:
        assert result == outcome


def on_broker(lagging: set[tuple[str, int]]):  # type: ignore[no-untyped-def]
    def lagging_fn(topic: str, partition: int, last: int | None) -> Lag:
        return Lag.ON_BROKER if (topic, partition) in lagging else Lag.NONE

    return lagging_fn


def test_when_the_awaited_records_are_on_the_broker_then_the_partition_never_gives_up() -> None:
    merger = merger_with([("orders", 0, 0, 10, EVENT), ("orders", 1, 0, 10, EVENT)])
    lagging = {("consents", 0)}
    # partition 1 goes on; partition 0 waits with no bound, however long nothing is read
    first = merger.pop(0.0, on_broker(lagging))
    assert isinstance(first, Released) and first.partition == 1
    for now in (0.0, IDLE, MAX_WAIT, 10 * MAX_WAIT, 3600.0):
        assert merger.pop(now, on_broker(lagging)) == Wait(None)
    assert merger.waiting()
    assert "consents (on_broker)" in merger.describe(0)
    # once the fetch brings it, the partition goes on in order
    add(merger, "consents", 0, 0, 5, now=3600.0)
    released, _ = drain(merger, 3600.0, set())
    assert released == ["consents/0@0", "orders/0@0"]


def test_when_an_input_was_given_up_in_transit_and_is_then_on_the_broker_it_is_waited_for() -> None:
    merger = merger_with([("orders", 0, 0, 10, EVENT), ("orders", 0, 1, 20, EVENT)])
    lagging = {("consents", 0)}
    merger.pop(0.0, lag_of(lagging))
    assert isinstance(merger.pop(IDLE, lag_of(lagging)), Released)  # given up in transit
    assert merger.pop(IDLE, on_broker(lagging)) == Wait(None)  # now known on the broker


FETCH_PLAN = [
    # (records added per input, records released after, held back after adding, after release)
    # below the high mark: everything is fetched
    ({"orders": 3}, 0, frozenset(), None),
    # at the high mark: that input is not fetched until it is down to half
    ({"orders": 4}, 1, frozenset({("orders", 0)}), None),
    ({"orders": 4}, 2, frozenset({("orders", 0)}), frozenset()),
    # inputs are held back one by one
    ({"orders": 4, "consents": 4}, 0, frozenset({("orders", 0), ("consents", 0)}), None),
]


@pytest.mark.parametrize(("adds", "releases", "held", "held_after"), FETCH_PLAN)
def test_when_a_fifo_runs_ahead_then_its_input_is_not_fetched_until_it_is_down_to_half(
    adds: dict[str, int],
    releases: int,
    held: frozenset[tuple[str, int]],
    held_after: frozenset[tuple[str, int]] | None,
) -> None:
    merger: Merger[str] = Merger(TOPICS, IDLE, MAX_WAIT, fifo_high=4)
    for topic, count in adds.items():
        for offset in range(count):
            merger.add(topic, 0, Entry(offset, (T0, EVENT), f"{topic}@{offset}"), 0.0)
    assert merger.fetch_plan() == (FetchPlan(held) if held else None)
    assert merger.fetch_plan() is None  # unchanged since: nothing to apply
    for _ in range(releases):
        assert isinstance(merger.pop(0.0, lag_of(set())), Released)
    assert merger.fetch_plan() == (None if held_after is None else FetchPlan(held_after))


def test_when_cleared_then_nothing_is_held_back() -> None:
    merger: Merger[str] = Merger(TOPICS, IDLE, MAX_WAIT, fifo_high=1)
    merger.add("orders", 0, Entry(0, (T0, EVENT), "o"), 0.0)
    assert merger.fetch_plan() == FetchPlan(frozenset({("orders", 0)}))
    merger.clear()
    assert merger.fetch_plan() == FetchPlan(frozenset())


def test_when_a_partition_waits_on_the_broker_then_busy_partitions_fetch_only_the_awaited() -> None:
    # fifo_high 2: the two records held once partition 1 went are a backlog's worth
    merger: Merger[str] = Merger(TOPICS, IDLE, MAX_WAIT, fifo_high=2)
    merger.add("orders", 0, Entry(0, (T0, EVENT), "o0"), 0.0)
    merger.add("orders", 1, Entry(0, (T0, EVENT), "o1"), 0.0)
    merger.add("orders", 1, Entry(1, (T0, EVENT), "o1b"), 0.0)
    lagging = {("consents", 0), ("inquiries", 0)}
    first = merger.pop(0.0, on_broker(lagging))  # partition 1 goes, partition 0 waits
    assert isinstance(first, Released) and first.partition == 1
    # of the partition numbers that hold records, only the awaited inputs are fetched (no
    # other buffered answer of theirs goes first); partition 2, holding nothing, is fetched
    busy = {(topic, partition) for topic in TOPICS for partition in (0, 1)}
    assert merger.fetch_plan() == FetchPlan(frozenset(busy - {("consents", 0), ("inquiries", 0)}))
    # the awaited records came: nothing waits, everything is fetched again
    add(merger, "consents", 0, 0, -5, now=1.0)
    add(merger, "inquiries", 0, 0, -4, now=1.0)
    released, _ = drain(merger, 1.0, set())
    assert [r for r in released if r != "o1b"] == ["consents/0@0", "inquiries/0@0", "o0"]
    assert "o1b" in released
    assert merger.fetch_plan() == FetchPlan(frozenset())


def test_when_a_live_partition_waits_on_the_broker_then_every_input_is_still_fetched() -> None:
    # a live stream: the merge holds a few records, below fifo_high (docstring of fetch_plan)
    merger: Merger[str] = Merger(TOPICS, IDLE, MAX_WAIT, fifo_high=4)
    merger.add("orders", 0, Entry(0, (T0, EVENT), "o0"), 0.0)
    lagging = {("consents", 0)}
    assert merger.pop(0.0, on_broker(lagging)) == Wait(None)  # partition 0 waits
    assert merger.fetch_plan() in (None, FetchPlan(frozenset()))  # nothing held back
    # the merge grows to a backlog's worth with nothing else changed: the plan narrows
    for partition in (1, 2, 3):
        merger.add("orders", partition, Entry(0, (T0, EVENT), f"o{partition}"), 0.0)
    busy = {(topic, partition) for topic in TOPICS for partition in range(4)}
    assert merger.fetch_plan() == FetchPlan(frozenset(busy - {("consents", 0)}))
    # and widens again once it holds less
    add(merger, "consents", 0, 0, -5, now=1.0)
    drain(merger, 1.0, set())
    assert merger.fetch_plan() == FetchPlan(frozenset())


def test_when_a_partition_waits_then_the_merger_says_so_until_it_goes_on() -> None:
    merger = merger_with([("orders", 0, 0, 10, EVENT)])
    lagging = {("consents", 0)}
    assert not merger.waiting()
    merger.pop(0.0, lag_of(lagging))
    assert merger.waiting()
    merger.pop(IDLE, lag_of(lagging))
    assert not merger.waiting()


def test_when_the_idle_bound_is_zero_then_nothing_waits() -> None:
    merger: Merger[str] = Merger(TOPICS, 0.0, MAX_WAIT)
    merger.add("orders", 0, Entry(0, (T0, EVENT), "o"), -10.0)
    outcome = merger.pop(0.0, lag_of({("consents", 0)}))
    assert isinstance(outcome, Released) and outcome.enforced


def test_when_records_are_released_then_stream_time_is_the_latest_time_before_each() -> None:
    merger = merger_with(
        [
            ("orders", 0, 0, 10, EVENT),
            ("orders", 0, 1, 30, EVENT),
            ("consents", 0, 0, 20, GRANT),
            ("consents", 0, 1, 5, WITHDRAWAL),  # behind a later one in its FIFO: late
            ("orders", 0, 2, None, EVENT),  # undecodable: no time, does not move stream time
            ("orders", 1, 0, 1, EVENT),  # another partition number has its own stream time
        ]
    )
    seen = []
    while isinstance(outcome := merger.pop(0.0, lag_of(set())), Released):
        before = outcome.stream_time
        seen.append((outcome.entry.item, None if before is None else (before - T0).seconds))
    assert sorted(seen) == sorted(
        [
            ("orders/0@0", None),
            ("consents/0@0", 10),
            ("consents/0@1", 20),  # late: 5 s < stream time 20 s
            ("orders/0@1", 20),
            ("orders/0@2", 30),
            ("orders/1@0", None),
        ]
    )
    assert merger.stream_time(0) == T0 + timedelta(seconds=30)


def test_when_many_partitions_wait_then_the_earliest_bound_is_reported_and_others_flow() -> None:
    merger: Merger[str] = Merger(TOPICS, IDLE, MAX_WAIT)
    for partition in range(24):
        merger.add("orders", partition, Entry(0, (T0, EVENT), f"o{partition}"), -10.0)
    lagging = {("consents", p) for p in range(0, 24, 2)}  # even partitions wait
    released, wait = drain(merger, 0.0, lagging)
    assert sorted(released) == sorted(f"o{p}" for p in range(1, 24, 2))
    assert wait == Wait(IDLE)
    released, wait = drain(merger, IDLE, lagging)
    assert sorted(released) == sorted(f"o{p}" for p in range(0, 24, 2))
    assert (wait, len(merger)) == (Wait(None), 0)


def test_when_partitions_have_work_then_they_take_turns() -> None:
    merger: Merger[str] = Merger(TOPICS, IDLE, MAX_WAIT)
    for offset in range(3):
        for partition in range(3):
            entry = Entry(offset, (T0, EVENT), f"{partition}@{offset}")
            merger.add("orders", partition, entry, -10.0)
    released, _ = drain(merger, 0.0, set())
    assert [r.split("@")[0] for r in released[:3]] == ["0", "1", "2"]


def test_when_cleared_then_everything_held_is_dropped_and_offsets_forgotten() -> None:
    merger = merger_with([("orders", 0, 7, 10, EVENT), ("consents", 2, 3, 10, GRANT)])
    assert merger.last_offset("orders", 0) == 7
    assert sorted(merger.clear()) == ["consents/2@3", "orders/0@7"]
    assert (len(merger), merger.last_offset("orders", 0), merger.stream_time(0)) == (0, None, None)
    assert merger.pop(0.0, lag_of(set())) == Wait(None)


def test_when_asked_about_lag_then_the_last_offset_read_is_passed() -> None:
    merger = merger_with([("orders", 0, 0, 10, EVENT), ("consents", 0, 4, 1, GRANT)])
    asked: list[tuple[str, int | None]] = []

    def lagging(topic: str, partition: int, last: int | None) -> bool:
        asked.append((topic, last))
        return False

    merger.pop(0.0, lagging)  # releases consents@4: its FIFO is now empty
    merger.pop(0.0, lagging)
    assert ("consents", 4) in asked and ("inquiries", None) in asked


def test_when_the_log_end_is_not_known_yet_then_the_partition_waits_at_most_max_wait() -> None:
    merger = merger_with([("orders", 0, 0, 10, EVENT)])

    def unknown(topic: str, partition: int, last: int | None) -> Lag:
        return Lag.UNKNOWN if topic == "consents" else Lag.NONE

    assert merger.pop(0.0, unknown) == Wait(MAX_WAIT)
    assert merger.pop(MAX_WAIT - 0.01, unknown) == Wait(MAX_WAIT)  # no idle bound for it
    released = merger.pop(MAX_WAIT, unknown)
    assert isinstance(released, Released) and released.lagging == ("consents",)
