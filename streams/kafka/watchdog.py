"""The stall watchdog's rule, as a pure function of what it is shown (no Faust, no Kafka).

An input partition assigned to this worker is **stalled** when it has records not yet
committed (end offset > committed offset, or > earliest offset if it was never committed) and
neither its committed offset nor the count of its records this worker processed moved for
``timeout_s`` seconds, while the worker was not rebalancing.

Clocks restart whenever the rule cannot be judged fairly: during a rebalance (and the
recovery after it), when the broker's offsets are unknown (a broker outage is not a stall),
when a partition has nothing to do, and when a partition is newly assigned. So a stall is
only ever reported after ``timeout_s`` seconds of a live broker and a worker that holds a
backlog and does nothing with it — the post-rebalance stall of Faust's recovery
(``streams/kafka/recovery.py``), or any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
