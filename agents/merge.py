"""The event-time merge of co-partitioned input partitions, with no Faust and no Kafka in it.

Kafka delivers each topic-partition in offset order and nothing across them. The worker reads
all five input topics, which are co-partitioned by ``customer_id``: partition *n* of every input
topic holds the same customers. So, per partition NUMBER, the merge keeps one FIFO per input
topic-partition and releases records in decision order (``event_time``, then the contract's tie
rank): the earliest head of the five FIFOs goes first. This is Kafka Streams' timestamp
synchronisation (KIP-353, KIP-695 ``max.task.idle.ms``):

- while one of the five FIFOs is empty and that topic-partition has *lag*, the partition waits,
  because the missing head could be earlier than every head it has. There are two kinds of lag
  (:class:`Lag`), and only one of them may ever be given up on:

  - ``ON_BROKER``: the broker holds records of it that the consumer has not handed over yet
    (log end past the fetch position). The partition waits **without a bound**, as Kafka
    Streams does while the fetch metadata says the broker holds more (KIP-695): the worker
    fetches that input first (:meth:`Merger.fetch_plan`: while any partition waits for records
    on the broker, of the partition numbers that hold records only the awaited inputs are
    fetched; otherwise all but the inputs whose FIFOs run ahead), so the record comes;
    deciding ahead of it would decide out of event time.
    A fetch that never brings it is a stall, which the watchdog reports with this partition's
    :meth:`Merger.describe`;
  - ``IN_TRANSIT``: the consumer handed records over that the merge has not read yet (the
    position is past the last offset read). They are on their way through the worker's own
    queues, so the wait is short, but a position can also pass records that never come (a
    transactional producer's commit marker), so this wait is bounded: it ends once nothing was
    read *on this partition number* for ``idle_s`` (``PURPOSEGATE_MERGE_IDLE_MS``), and
    after ``max_wait_s`` in any case (``PURPOSEGATE_MERGE_MAX_WAIT_MS``). Then the partition
    goes on with the heads it has ("enforced") until that input has data again.

  ``UNKNOWN`` (no fetch of it answered yet, so its log end is not known) is waited for up to
  ``max_wait_s``, as Kafka Streams bounds a wait on unknown lag: a fetch answers well within
  it unless the partition is sick (an offline leader), and one sick partition must not hold
  the others' decisions for ever. ``idle_s`` 0 turns the synchronisation off: nothing waits (a
  test knob, never a default);
- an empty FIFO without lag is not waited for: nothing earlier is known to exist;
- a record that could not be decoded or validated has no ``event_time``: it leaves as soon as it
  heads its FIFO, without waiting (it goes to the dead-letter topic, not to a decision).

The FIFOs are never reordered, so every topic-partition is released, processed and acked in
offset order (Faust's commit logic relies on that). ``stream_time`` per partition number is the
latest ``event_time`` released so far: a state change released with an ``event_time`` before it
arrives late, after events of a later time were already decided.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Generic, TypeVar

T = TypeVar("T")

#: ``(event_time, tie rank)``: the decision order of a valid record.
Order = tuple[datetime, int]


class Lag(IntEnum):
    """Where the records of an input topic-partition past the last one read are (module
    docstring). A plain ``bool`` answer reads as ``NONE`` / ``IN_TRANSIT``."""

    NONE = 0
    IN_TRANSIT = 1
    #: the log end is not known yet (no fetch answered): waited for up to ``max_wait_s``
    UNKNOWN = 2
    ON_BROKER = 3


#: ``lagging(topic, partition, last offset read or None)``: where that topic-partition's
#: records past the last one read are.
Lagging = Callable[[str, int, int | None], "Lag | bool"]
#: (topic, partition number): one input topic-partition, by logical topic name.
InputPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Entry(Generic[T]):
    """One record read from a topic-partition. ``order`` is None for a record that could not be
    decoded or validated."""

    offset: int
    order: Order | None
    item: T


@dataclass(frozen=True, slots=True)
class Released(Generic[T]):
    """The next record to decide, with the partition's stream time before it."""

    topic: str
    partition: int
    entry: Entry[T]
    #: The latest ``event_time`` released on this partition number before this record.
    stream_time: datetime | None
    #: The empty inputs that still had lag when the idle bound ran out and this record was
    #: released without them ("enforced"); empty when the release was in order.
    lagging: tuple[str, ...] = ()

    @property
    def enforced(self) -> bool:
        return bool(self.lagging)


@dataclass(frozen=True, slots=True)
class FetchPlan:
    """Which input topic-partitions the consumer does not fetch (:meth:`Merger.fetch_plan`)."""

    held_back: frozenset[InputPartition]


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing can be released now. ``until``: the monotonic time at which a waiting partition's
    idle bound runs out (look again then); None: nothing to release until a record arrives (or
    the lag changes: a waiting caller looks again now and then)."""

    until: float | None


class Merger(Generic[T]):
    """Per partition number, one FIFO per input topic; :meth:`pop` releases in decision order."""

    def __init__(
        self,
        topics: Sequence[str],
        idle_s: float,
        max_wait_s: float,
        fifo_high: int | None = None,
    ) -> None:
        self._topics = tuple(topics)
        self._topic_rank = {topic: rank for rank, topic in enumerate(self._topics)}
        self._idle_s = idle_s
        self._max_wait_s = max_wait_s
        #: A FIFO this long is not fetched any more until it is down to half (None: no limit).
        self._fifo_high = fifo_high
        self._fifo_low = None if fifo_high is None else fifo_high // 2
        self._held_back: set[InputPartition] = set()
        self._held_back_changed = False
        #: The plan last handed out, and whether the merge was catching up then.
        self._plan: frozenset[InputPartition] | None = None
        self._planned_catching_up = False
        #: Per partition number, when a record of it was last read.
        self._last_read: dict[int, float] = {}
        #: Per waiting partition number, the inputs it waits for and their kind of lag.
        self._awaited: dict[int, tuple[tuple[str, Lag], ...]] = {}
        self._fifos: dict[int, dict[str, deque[Entry[T]]]] = {}
        self._last: dict[tuple[str, int], int] = {}
        self._idle_since: dict[int, float] = {}
        self._waiting: set[int] = set()
        #: Per partition, the lagging inputs it stopped waiting for (until they have data).
        self._given_up: dict[int, frozenset[str]] = {}
        self._stream_time: dict[int, datetime] = {}
        self._size = 0
        self._turn = 0

    def __len__(self) -> int:
        """Records held (read, not yet released)."""
        return self._size

    def add(self, topic: str, partition: int, entry: Entry[T], now: float) -> None:
        """A record read from ``topic``/``partition`` at ``now``; offsets of one
        topic-partition ascend."""
        self._last_read[partition] = now
        fifos = self._fifos.setdefault(partition, {})
        fifo = fifos.setdefault(topic, deque())
        fifo.append(entry)
        self._last[(topic, partition)] = entry.offset
        self._size += 1
        if len(fifo) == 1 and self._awaited:
            self._held_back_changed = True  # an input with records in the merge now
        if self._fifo_high is not None and len(fifo) >= self._fifo_high:
            key = (topic, partition)
            if key not in self._held_back:
                self._held_back.add(key)
                self._held_back_changed = True

    def fetch_plan(self) -> FetchPlan | None:
        """What not to fetch now; None when that has not changed since the last call (nothing
        to apply). A fetch hands over a bounded number of records, taken from the partitions
        the consumer has buffered in the order it buffered them (aiokafka 0.14.0 serves its
        oldest fetch answers first, whole), so:

        - while the merge is catching up (it holds ``fifo_high`` records or more in all) and
          some partition waits for records known on the broker, every input of a partition
          number that holds records in the merge is held back, except the awaited ones:
          those are in the consumer's buffer or one fetch away, and no buffered answer of
          another input of a busy partition number is handed over before theirs (with every
          input that held nothing fetched, a backlog of 30 partitions left an awaited one in
          aiokafka's buffer for over 60 s). The inputs of a partition number that holds
          nothing are fetched all the same: it cannot wait for anything before it has a
          record (fetching only the awaited inputs starved such a partition for good);
        - otherwise every input whose FIFO runs ahead of what the merge can release is held
          back (``fifo_high`` records, until it is down to half).

        A live stream (the merge holds a few records) is never narrowed to the awaited inputs:
        there, every partition waits for the next record of some input most of the time, and
        fetching one awaited input after another made each record wait for a chain of fetches
        (``make bench`` latency phase at 1,162 events/s, side by side: e2e p50 408-433 ms and
        p99 2.2-16 s narrowed always, 20-30 ms and 148-210 ms narrowed only while catching up;
        the wait was the fetch, not the work: the worker used half a core; docs/bench.md)."""
        catching_up = self._catching_up()
        if not self._held_back_changed and catching_up == self._planned_catching_up:
            return None
        self._held_back_changed = False
        self._planned_catching_up = catching_up
        awaited = {
            (topic, partition)
            for partition, waits in self._awaited.items()
            for topic, lag in waits
            if lag is Lag.ON_BROKER
        }
        if not awaited or not catching_up:
            held = frozenset(self._held_back)
        else:
            busy = [p for p, fifos in self._fifos.items() if any(fifos.values())]
            held = frozenset((t, p) for p in busy for t in self._topics).difference(awaited)
        if held == self._plan:
            return None
        self._plan = held
        return FetchPlan(held)

    def _catching_up(self) -> bool:
        """Does the merge hold a backlog's worth (``fifo_high`` records or more in all)?"""
        return self._fifo_high is None or self._size >= self._fifo_high

    def holds(self, topic: str, partition: int) -> bool:
        """Does the merge hold records of this input partition (read, not yet released)?"""
        return bool(self._fifos.get(partition, {}).get(topic))

    def describe(self, partition: int) -> str:
        """Where one partition number stands, for a stall report (offsets and counts only)."""
        fifos = self._fifos.get(partition, {})
        held = ", ".join(f"{t}={len(f)}" for t, f in fifos.items() if f) or "nothing"
        awaited = self._awaited.get(partition)
        waits = (
            "waits for " + ", ".join(f"{topic} ({lag.name.lower()})" for topic, lag in awaited)
            if awaited
            else "waits for no input"
        )
        not_fetched = sorted(t for t, p in self._held_back if p == partition)
        return (
            f"partition {partition}: holds {held}; {waits}; not fetched (ahead): "
            f"{', '.join(not_fetched) or 'none'}"
        )

    def last_offset(self, topic: str, partition: int) -> int | None:
        """The offset of the last record read from ``topic``/``partition``, if any."""
        return self._last.get((topic, partition))

    def waiting(self) -> bool:
        """Is a partition waiting for a lagging input (so reading must go on)?"""
        return bool(self._waiting)

    def stream_time(self, partition: int) -> datetime | None:
        return self._stream_time.get(partition)

    def clear(self) -> list[T]:
        """Forget everything (the partitions were revoked, or will be read again from the
        committed offsets); returns the items of the records dropped."""
        dropped = [
            entry.item for fifos in self._fifos.values() for f in fifos.values() for entry in f
        ]
        self._fifos.clear()
        self._last.clear()
        self._last_read.clear()
        self._awaited.clear()
        self._held_back.clear()
        self._held_back_changed = True
        self._plan = None
        self._idle_since.clear()
        self._waiting.clear()
        self._given_up.clear()
        self._stream_time.clear()
        self._size = 0
        return dropped

    def pop(self, now: float, lagging: Lagging) -> Released[T] | Wait:
        """The next record to decide, or how long to wait. Partitions take turns."""
        partitions = [p for p, fifos in self._fifos.items() if any(fifos.values())]
        if not partitions:
            return Wait(None)
        partitions.sort()
        start = next((i for i, p in enumerate(partitions) if p >= self._turn), 0)
        until: float | None = None
        for partition in partitions[start:] + partitions[:start]:
            outcome = self._pop_partition(partition, now, lagging)
            if isinstance(outcome, Released):
                self._turn = partition + 1
                return outcome
            if until is None or outcome < until:
                until = outcome
        return Wait(None if until == math.inf else until)

    def pop_many(self, now: float, lagging: Lagging, limit: int) -> list[Released[T]] | Wait:
        """Up to ``limit`` records in decision order (what :meth:`pop` would release one call
        after the other), or how long to wait when none can be released. The broker's offsets
        do not move while this runs, so each input's lag is asked once."""
        asked: dict[tuple[str, int, int | None], Lag | bool] = {}

        def lag_once(topic: str, partition: int, last: int | None) -> Lag | bool:
            known = asked.get((topic, partition, last))
            if known is None:
                known = asked[(topic, partition, last)] = lagging(topic, partition, last)
            return known

        released: list[Released[T]] = []
        while len(released) < limit:
            outcome = self.pop(now, lag_once)
            if isinstance(outcome, Wait):
                return released or outcome
            released.append(outcome)
        return released

    def _pop_partition(self, partition: int, now: float, lagging: Lagging) -> Released[T] | float:
        """Release from one partition number, or the time its idle bound runs out."""
        fifos = self._fifos[partition]
        heads: list[tuple[Order, int, str]] = []
        for topic, fifo in fifos.items():
            if not fifo:
                continue
            order = fifo[0].order
            if order is None:
                return self._release(topic, partition, ())
            heads.append((order, self._topic_rank.get(topic, len(self._topics)), topic))
        waiting = self._lagging_inputs(partition, fifos, lagging)
        until = self._wait_until(partition, now, waiting)
        if until is not None:
            self._waiting.add(partition)
            if self._awaited.get(partition) != waiting:
                self._awaited[partition] = waiting
                self._held_back_changed = True
            return until
        self._waiting.discard(partition)
        if self._awaited.pop(partition, None) is not None:
            self._held_back_changed = True
        return self._release(min(heads)[2], partition, tuple(topic for topic, _ in waiting))

    def _wait_until(
        self, partition: int, now: float, waiting: tuple[tuple[str, Lag], ...]
    ) -> float | None:
        """Until when the partition waits for its lagging inputs (``inf``: until one of them
        is read); None: go on now."""
        if not waiting or self._idle_s <= 0:
            self._idle_since.pop(partition, None)
            self._given_up.pop(partition, None)  # an input with data is waited for afresh
            return None
        if any(lag is Lag.ON_BROKER for _, lag in waiting):
            # records known on the broker: fetched first, never given up on (an in-transit
            # wait that follows counts from now)
            self._idle_since[partition] = now
            return math.inf
        given_up = self._given_up.get(partition, frozenset()).intersection(t for t, _ in waiting)
        fresh = [topic for topic, _ in waiting if topic not in given_up]
        if not fresh:
            self._idle_since.pop(partition, None)
            self._given_up[partition] = given_up
            return None
        since = self._idle_since.setdefault(partition, now)
        if any(lag is Lag.UNKNOWN for _, lag in waiting):
            until = since + self._max_wait_s  # a fetch answers well within it, or it is sick
        else:
            last_read = max(since, self._last_read.get(partition, since))
            until = min(last_read + self._idle_s, since + self._max_wait_s)
        if now < until:
            return until
        self._idle_since.pop(partition, None)
        self._given_up[partition] = given_up.union(fresh)
        return None

    def _lagging_inputs(
        self, partition: int, fifos: dict[str, deque[Entry[T]]], lagging: Lagging
    ) -> tuple[tuple[str, Lag], ...]:
        found: list[tuple[str, Lag]] = []
        for topic in self._topics:
            if fifos.get(topic):
                continue
            lag = Lag(int(lagging(topic, partition, self._last.get((topic, partition)))))
            if lag:
                found.append((topic, lag))
        return tuple(found)

    def _release(self, topic: str, partition: int, lagging: tuple[str, ...]) -> Released[T]:
        fifos = self._fifos[partition]
        fifo = fifos[topic]
        entry = fifo.popleft()
        self._size -= 1
        if not fifo and self._awaited:
            self._held_back_changed = True  # an input with nothing in the merge now
        if self._held_back and len(fifo) == self._fifo_low:
            key = (topic, partition)
            if key in self._held_back:
                self._held_back.discard(key)
                self._held_back_changed = True
        if not any(fifos.values()):  # nothing left: the next spell of waiting starts afresh
            self._idle_since.pop(partition, None)
        before = self._stream_time.get(partition)
        if entry.order is not None and (before is None or entry.order[0] > before):
            self._stream_time[partition] = entry.order[0]
        return Released(topic, partition, entry, before, lagging)
