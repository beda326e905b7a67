"""The stall watchdog: its rule, and the rule wired into the Faust worker.

**The rule** (:class:`StallWatchdog`, a pure function of what it is shown: no Faust, no Kafka).
An input partition assigned to this worker is **stalled** when it has records not yet
committed (end offset > committed offset, or > earliest offset if it was never committed) and
neither its committed offset nor the count of its records this worker processed moved for
``timeout_s`` seconds, while the worker was not rebalancing.

Clocks restart whenever the rule cannot be judged fairly: during a rebalance (and the
recovery after it), when the broker's offsets are unknown (a broker outage is not a stall),
when a partition has nothing to do, and when a partition is newly assigned. So a stall is
only ever reported after ``timeout_s`` seconds of a live broker and a worker that holds a
backlog and does nothing with it — the post-rebalance stall of Faust's recovery
(``broker/recovery.py``), or any other.

**The wiring** (:func:`install_watchdog`, :class:`WorkerWatchdog`). Every few seconds it shows
the rule this worker's assigned input partitions, with the
group's offsets from the last consumer-lag refresh (``broker/lag.py``; none when the broker
could not be asked lately) and the records the worker finished (counted by a Faust sensor when
a message is acked, whatever the agents look like): those of the partition's *number* while the
merge holds records of that input (the five inputs of one partition number are decided together
in event time, so an input whose next record is later than what its partition is deciding
waits, slow but not stalled, as long as its partition decides anything), its own otherwise
(none of it reaches the merge: stalled, however busy the rest is). Then:

- ``purposegate_partition_stalled{topic, partition}`` is 1 for a stalled partition, 0 for the
  other assigned input partitions;
- :meth:`WorkerWatchdog.stalled_partitions` feeds ``/health`` (503 naming them);
- a partition that becomes stalled is logged once, with Faust's own view of it and the merge's
  (what the partition holds, which input it waits for and whether that input's records are
  on the broker or on their way, which inputs are not fetched; offsets and counts only, never
  record data): the cause, for a bug report;
- with ``PURPOSEGATE_STALL_EXIT`` (default on), a stall still there
  ``PURPOSEGATE_STALL_EXIT_AFTER_S`` later stops the worker with a non-zero exit, so that its
  supervisor restarts it: the uncommitted records are read again (nothing is lost), and the
  partitions are not held by a worker that does nothing with them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import faust
from faust.sensors import Sensor
from prometheus_client import Gauge

from broker.faust_internals import consumer_view
from broker.lag import LagCollector
from broker.metrics import PARTITION_STALLED
from config.settings import Settings
from policy.topics import INPUT_TOPICS

#: (logical topic, partition)
Partition = tuple[str, int]


@dataclass(frozen=True)
class Progress:
    """What is known about one assigned input partition at one moment."""

    #: Records the group has not committed yet (end offset - committed offset).
    behind: int
    #: The group's committed offset (``None``: never committed).
    committed: int | None
    #: Records of this partition this worker finished processing since it started.
    processed: int


@dataclass
class _Clock:
    committed: int | None
    processed: int
    since: float


class StallWatchdog:
    """Feed it :meth:`observe` every few seconds; it answers which partitions are stalled."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._clocks: dict[Partition, _Clock] = {}
        self._stalled: dict[Partition, float] = {}  # partition -> when it was found stalled

    def observe(
        self, now: float, progress: Mapping[Partition, Progress] | None, rebalancing: bool
    ) -> frozenset[Partition]:
        """Judge the assigned input partitions (the keys of ``progress``; ``None`` when the
        offsets could not be read) and return the stalled ones."""
        if progress is None or rebalancing:
            self._clocks.clear()
            self._stalled.clear()
            return frozenset()
        for gone in self._clocks.keys() - progress.keys():
            del self._clocks[gone]
            self._stalled.pop(gone, None)
        for partition, seen in progress.items():
            self._observe_one(now, partition, seen)
        return self.stalled

    def _observe_one(self, now: float, partition: Partition, seen: Progress) -> None:
        clock = self._clocks.get(partition)
        if seen.behind <= 0:  # nothing to do: the clock starts when records arrive
            self._clocks.pop(partition, None)
            self._stalled.pop(partition, None)
        elif (
            clock is None or seen.committed != clock.committed or seen.processed != clock.processed
        ):
            self._clocks[partition] = _Clock(seen.committed, seen.processed, now)
            self._stalled.pop(partition, None)
        elif now - clock.since >= self.timeout_s:
            self._stalled.setdefault(partition, now)

    @property
    def stalled(self) -> frozenset[Partition]:
        return frozenset(self._stalled)

    def stalled_for(self, now: float) -> float:
        """Seconds since the longest-stalled partition was found stalled (0 when none is)."""
        return now - min(self._stalled.values()) if self._stalled else 0.0


log = logging.getLogger("purposegate.watchdog")

#: The offsets are stale (the broker was not reachable) after this many check intervals.
STALE_AFTER_INTERVALS = 3


class PartitionsStalled(RuntimeError):
    """The worker stops itself: input partitions made no progress (names only, no data)."""


class ProcessedCounter(Sensor):  # Faust is untyped (Any to mypy)
    """Counts the messages every stream finished, per topic partition (a dict increment)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.counts: defaultdict[tuple[str, int], int] = defaultdict(int)
        #: The same, per partition number (every topic's partition n together).
        self.by_number: defaultdict[int, int] = defaultdict(int)

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        self.counts[(tp.topic, tp.partition)] += 1
        self.by_number[tp.partition] += 1


class WorkerWatchdog:
    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        collector: LagCollector,
        *,
        interval_s: float,
        gauge: Gauge = PARTITION_STALLED,
        clock: Callable[[], float] = time.monotonic,
        explain: Callable[[int], str] | None = None,
        holding: Callable[[str, int], bool] | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.collector = collector
        self.interval_s = interval_s
        self.gauge = gauge
        self.clock = clock
        #: The event-time merge's account of one partition number (``Merger.describe``).
        self.explain = explain
        #: Does the merge hold records of this input partition (``Merger.holds``)?
        self.holding = holding
        self.counter = ProcessedCounter()
        self.watchdog = StallWatchdog(settings.stall_timeout_s)
        self._inputs = {settings.topic(t): t for t in INPUT_TOPICS}
        self._exported: set[Partition] = set()
        self._reported: set[Partition] = set()
        self._exiting = False

    def stalled_partitions(self) -> list[Partition]:
        return sorted(self.watchdog.stalled)

    async def check(self) -> None:
        """One look: judge, export, log, and maybe stop the worker."""
        now = self.clock()
        assigned = self._assigned()
        stalled = self.watchdog.observe(now, self._progress(now, assigned), self._rebalancing())
        for partition in assigned:
            self.gauge.labels(partition[0], str(partition[1])).set(partition in stalled)
        for gone in self._exported - assigned:
            self.gauge.remove(gone[0], str(gone[1]))
        self._exported = assigned
        for partition in sorted(stalled - self._reported):
            log.error("input partition %s[%d] stalled: %s", *partition, self._describe(partition))
        self._reported = set(stalled)
        exit_due = self.watchdog.stalled_for(now) >= self.settings.stall_exit_after_s
        if stalled and exit_due and self.settings.stall_exit and not self._exiting:
            self._exit(stalled)

    def _assigned(self) -> set[Partition]:
        try:
            assignment = self.app.consumer.assignment()
        except Exception:  # noqa: BLE001 - the consumer is not started (yet, or any more)
            return set()
        return {
            (self._inputs[tp.topic], tp.partition) for tp in assignment if tp.topic in self._inputs
        }

    def _rebalancing(self) -> bool:
        return bool(self.app.rebalancing) or bool(self.app.in_recovery)

    def _progress(self, now: float, assigned: set[Partition]) -> dict[Partition, Progress] | None:
        fetched_at = self.collector.last_success
        if fetched_at is None or now - fetched_at > STALE_AFTER_INTERVALS * self.interval_s:
            return None  # a broker outage is not a stall
        offsets = self.collector.last_offsets
        progress: dict[Partition, Progress] = {}
        for topic, partition in assigned:
            known = offsets.get((topic, partition))
            if known is None:
                continue
            processed = self._processed(topic, partition)
            progress[(topic, partition)] = Progress(known.behind, known.committed, processed)
        return progress

    def _processed(self, topic: str, partition: int) -> int:
        """The records finished that show this input partition is not stalled: its partition
        number's, while the merge holds records of it (they wait their turn in event time);
        its own otherwise (nothing of it reaches the merge: a stall, however busy the rest)."""
        if self.holding is not None and self.holding(topic, partition):
            return self.counter.by_number.get(partition, 0)
        return self.counter.counts.get((self.settings.topic(topic), partition), 0)

    def _describe(self, partition: Partition) -> str:
        known = self.collector.last_offsets.get(partition)
        timeout = self.settings.stall_timeout_s
        text = (
            f"{known.behind if known else '?'} record(s) not committed, committed offset "
            f"{known.committed if known else '?'}; nothing committed or processed for "
            f"{timeout:g} s"
        )
        view = consumer_view(self.app, self.settings.topic(partition[0]), partition[1])
        merge = ""
        if self.explain is not None:
            try:
                merge = f"; the merge: {self.explain(partition[1])}"
            except Exception as exc:  # noqa: BLE001 - a report must never fail the watchdog
                merge = f"; the merge: unavailable ({type(exc).__name__})"
        return f"{text}; Faust's view: {view}{merge}"

    def _exit(self, stalled: frozenset[Partition]) -> None:
        self._exiting = True
        names = ", ".join(f"{t}[{p}]" for t, p in sorted(stalled))
        log.error(
            "stopping the worker: input partition(s) %s still stalled %g s after being "
            "reported; a supervisor restarts it and the uncommitted records are read again",
            names,
            self.settings.stall_exit_after_s,
        )
        asyncio.ensure_future(
            self.app.crash(PartitionsStalled(f"input partitions stalled: {names}"))
        )


def install_watchdog(
    app: faust.App,
    settings: Settings,
    collector: LagCollector,
    interval_s: float = 5.0,
    explain: Callable[[int], str] | None = None,
    holding: Callable[[str, int], bool] | None = None,
) -> WorkerWatchdog:
    """Add the processed-message sensor and the check timer to ``app`` (before it starts);
    ``explain``: the merge's account of a partition number, for the stall report;
    ``holding``: whether the merge holds records of an input partition."""
    watchdog = WorkerWatchdog(
        app, settings, collector, interval_s=interval_s, explain=explain, holding=holding
    )
    app.sensors.add(watchdog.counter)
    app.timer(interval=interval_s, name="purposegate.stall_watchdog")(watchdog.check)
    return watchdog
