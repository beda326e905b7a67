"""The stall watchdog: the rule (pure), and its wiring (gauge, /health list, exit) with a
stand-in for the Faust app and the lag collector."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Gauge

from broker.lag import PartitionOffsets
from broker.watchdog import Partition, PartitionsStalled, Progress, StallWatchdog, WorkerWatchdog
from config.settings import Settings

P = ("orders", 3)
Q = ("consents", 0)

# One observation: (seconds, {partition: (behind, committed, processed)} or None, rebalancing)
Step = tuple[float, dict[Partition, tuple[int, int | None, int]] | None, bool]


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # a backlog untouched for the whole timeout: stalled
        ([(0, {P: (5, 10, 0)}, False), (60, {P: (5, 10, 0)}, False)], {P}),
        # ... but not one second earlier
        ([(0, {P: (5, 10, 0)}, False), (59, {P: (5, 10, 0)}, False)], set()),
        # a partition never committed, with a backlog: stalled as well
        ([(0, {P: (7, None, 0)}, False), (61, {P: (7, None, 0)}, False)], {P}),
        # nothing to do (end = committed) is never a stall, however long
        ([(0, {P: (0, 10, 0)}, False), (600, {P: (0, 10, 0)}, False)], set()),
        # records arrive after a long idle time: the clock starts when they do
        ([(0, {P: (0, 10, 0)}, False), (500, {P: (3, 10, 0)}, False),
          (540, {P: (3, 10, 0)}, False)], set()),
        # the committed offset moved: not stalled
        ([(0, {P: (5, 10, 0)}, False), (30, {P: (5, 11, 0)}, False),
          (70, {P: (5, 11, 0)}, False)], set()),
        # processed moved but commits did not (yet): not stalled
        ([(0, {P: (5, 10, 0)}, False), (30, {P: (5, 10, 4)}, False),
          (70, {P: (5, 10, 4)}, False)], set()),
        # a rebalance in between restarts the clock
        ([(0, {P: (5, 10, 0)}, False), (30, {P: (5, 10, 0)}, True),
          (70, {P: (5, 10, 0)}, False)], set()),
        # offsets unknown (broker unreachable) restart the clock: an outage is not a stall
        ([(0, {P: (5, 10, 0)}, False), (30, None, False), (70, {P: (5, 10, 0)}, False)], set()),
        # a partition no longer assigned is forgotten; the other one is judged alone
        ([(0, {P: (5, 10, 0), Q: (2, 1, 0)}, False), (60, {Q: (2, 1, 0)}, False)], {Q}),
        # newly assigned: its clock starts now
        ([(0, {Q: (2, 1, 0)}, False), (50, {Q: (2, 1, 0), P: (5, 10, 0)}, False),
          (70, {Q: (2, 1, 0), P: (5, 10, 0)}, False)], {Q}),
        # a stalled partition that moves again is no longer stalled
        ([(0, {P: (5, 10, 0)}, False), (60, {P: (5, 10, 0)}, False),
          (65, {P: (4, 11, 1)}, False)], set()),
    ],
)  # fmt: skip
def test_when_progress_observed_then_stalled_partitions_follow_the_rule(
    steps: list[Step], expected: set[Partition]
) -> None:
    watchdog = StallWatchdog(timeout_s=60)
    stalled: frozenset[Partition] = frozenset()
    for now, seen, rebalancing in steps:
        progress = None if seen is None else {p: Progress(*v) for p, v in seen.items()}
        stalled = watchdog.observe(now, progress, rebalancing)
    assert stalled == expected


# --- the wiring -------------------------------------------------------------------------


@dataclass(frozen=True)
class TP:
    topic: str
    partition: int


@dataclass
class FakeConsumer:
    tps: set[TP]

    def assignment(self) -> set[TP]:
        return self.tps


@dataclass
class FakeApp:
    consumer: FakeConsumer
    rebalancing: bool = False
    in_recovery: bool = False
    crashed: list[BaseException] = field(default_factory=list)

    async def crash(self, exc: BaseException) -> None:
        self.crashed.append(exc)


@dataclass
class FakeCollector:
    last_offsets: dict[tuple[str, int], PartitionOffsets]
    last_success: float | None = 0.0


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


def _watchdog(exit_enabled: bool) -> tuple[WorkerWatchdog, FakeApp, Clock, CollectorRegistry]:
    settings = Settings.model_validate(
        {
            "PURPOSEGATE_TOPIC_PREFIX": "t1.",
            "PURPOSEGATE_STALL_TIMEOUT_S": "60",
            "PURPOSEGATE_STALL_EXIT": str(exit_enabled).lower(),
            "PURPOSEGATE_STALL_EXIT_AFTER_S": "30",
        }
    )
    # orders[3] has a backlog and no commits; consents[0] is idle; the changelog is ignored
    app = FakeApp(FakeConsumer({TP("t1.orders", 3), TP("t1.consents", 0), TP("cl", 0)}))
    collector = FakeCollector(
        {
            ("orders", 3): PartitionOffsets(end=9, committed=None),
            ("consents", 0): PartitionOffsets(4, 4),
        }
    )
    registry = CollectorRegistry()
    gauge = Gauge("purposegate_partition_stalled", "s", ["topic", "partition"], registry=registry)
    clock = Clock()
    watchdog = WorkerWatchdog(
        app,  # type: ignore[arg-type]
        settings,
        collector,  # type: ignore[arg-type]
        interval_s=5,
        gauge=gauge,
        clock=clock,
    )
    return watchdog, app, clock, registry


async def _run_until(watchdog: WorkerWatchdog, clock: Clock, collector: Any, until: float) -> None:
    while clock.now < until:
        clock.now += 5
        collector.last_success = clock.now
        await watchdog.check()


@pytest.mark.parametrize(
    ("until", "exit_enabled", "stalled", "gauge", "crashed"),
    [
        # before the timeout: nothing reported, gauge 0
        (55, True, [], 0.0, False),
        # after it: named for /health, gauge 1, not yet stopped
        (65, True, [("orders", 3)], 1.0, False),
        # still stalled 30 s after being reported: the worker stops itself
        (95, True, [("orders", 3)], 1.0, True),
        # ... unless the exit is switched off
        (300, False, [("orders", 3)], 1.0, False),
    ],
)
async def test_when_a_partition_stalls_then_health_gauge_and_exit_follow(
    until: float, exit_enabled: bool, stalled: list[Partition], gauge: float, crashed: bool
) -> None:
    watchdog, app, clock, registry = _watchdog(exit_enabled)
    await _run_until(watchdog, clock, watchdog.collector, until)
    await asyncio.sleep(0)  # let a scheduled crash run
    assert watchdog.stalled_partitions() == stalled
    labels = {"topic": "orders", "partition": "3"}
    assert registry.get_sample_value("purposegate_partition_stalled", labels) == gauge
    idle = {"topic": "consents", "partition": "0"}
    assert registry.get_sample_value("purposegate_partition_stalled", idle) == 0.0
    assert bool(app.crashed) == crashed
    assert all(isinstance(e, PartitionsStalled) for e in app.crashed)


async def test_when_offsets_are_stale_then_nothing_is_reported() -> None:
    watchdog, _, clock, _ = _watchdog(exit_enabled=True)
    watchdog.collector.last_success = 0.0  # type: ignore[misc]  # the broker answered once, then never
    for _ in range(40):
        clock.now += 5
        await watchdog.check()
    assert watchdog.stalled_partitions() == []


class _Record:
    def __init__(self, topic: str, partition: int) -> None:
        self.topic, self.partition = topic, partition


@pytest.mark.parametrize(
    ("acked", "held", "stalled"),
    [
        # nothing of partition number 3 finished: orders[3] is stalled
        ([], True, [("orders", 3)]),
        # consents[3] finishes records all along while orders[3]'s records wait in the merge
        # for their turn in event time: slow but deciding, not stalled
        ([("t1.consents", 3)], True, []),
        # ... but when none of orders[3] reaches the merge, its partition's progress does not
        # excuse it: stalled
        ([("t1.consents", 3)], False, [("orders", 3)]),
        # another partition number's progress says nothing of number 3
        ([("t1.consents", 0)], True, [("orders", 3)]),
    ],
)
async def test_when_its_partition_number_decides_then_a_waiting_input_is_not_stalled(
    acked: list[tuple[str, int]], held: bool, stalled: list[Partition]
) -> None:
    watchdog, _, clock, _ = _watchdog(exit_enabled=False)
    watchdog.holding = lambda topic, partition: held
    while clock.now < 90:
        for topic, partition in acked:
            watchdog.counter.on_message_out(_Record(topic, partition), 0, None)
        clock.now += 5
        watchdog.collector.last_success = clock.now  # type: ignore[misc]
        await watchdog.check()
    assert watchdog.stalled_partitions() == stalled


async def test_when_a_partition_stalls_then_the_report_names_what_the_merge_waits_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watchdog, _, clock, _ = _watchdog(exit_enabled=False)
    watchdog.explain = lambda number: f"partition {number}: waits for consents (on_broker)"
    with caplog.at_level("ERROR", logger="purposegate.watchdog"):
        await _run_until(watchdog, clock, watchdog.collector, 65)
    assert "the merge: partition 3: waits for consents (on_broker)" in caplog.text
