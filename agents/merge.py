"""The event-time merge of co-partitioned input partitions, with no Faust and no Kafka in it.

Kafka delivers each topic-partition in offset order and nothing across them. The worker reads
all five input topics, which are co-partitioned by ``customer_id``: partition *n* of every input
topic holds the same customers. So, per partition NUMBER, the merge keeps one FIFO per input
topic-partition and releases records in decision order (``event_time``, then the contract's tie
rank): the earliest head of the five FIFOs goes first. This is Kafka Streams' timestamp
synchronisation (KIP-353, KIP-695 ``max.task.idle.ms``):

- while one of the five FIFOs is empty and that topic-partition has *lag* (records on the
  broker that the worker has not read yet), the partition waits, because the missing head
  could be earlier than every head it has;
- it waits as long as the worker keeps reading records (Faust hands them over one
  topic-partition after the other, so under load the awaited one may take a while), but goes
  on with the heads it has ("enforced") once nothing at all was read for ``idle_s``
  (``PURPOSEGATE_MERGE_IDLE_MS``: the lag is not coming, e.g. a stalled fetch), or after
  ``max_wait_s`` in any case (``PURPOSEGATE_MERGE_MAX_WAIT_MS``: e.g. a transactional
  producer's commit marker counts in the log end but is never read); it keeps going until no
  empty FIFO is lagging any more;
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
from typing import Generic, TypeVar

T = TypeVar("T")

#: ``(event_time, tie rank)``: the decision order of a valid record.
Order = tuple[datetime, int]
#: ``lagging(topic, partition, last offset read or None)``: does that topic-partition have
#: records on the broker past the last one read?
Lagging = Callable[[str, int, int | None], bool]


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
class Wait:
    """Nothing can be released now. ``until``: the monotonic time at which a waiting partition's
    idle bound runs out (look again then); None: nothing to release until a record arrives."""

    until: float | None


class Merger(Generic[T]):
    """Per partition number, one FIFO per input topic; :meth:`pop` releases in decision order."""

    def __init__(self, topics: Sequence[str], idle_s: float, max_wait_s: float) -> None:
        self._topics = tuple(topics)
        self._topic_rank = {topic: rank for rank, topic in enumerate(self._topics)}
        self._idle_s = idle_s
        self._max_wait_s = max_wait_s
        self._last_read = -math.inf
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
        self._last_read = now
        fifos = self._fifos.setdefault(partition, {})
        fifos.setdefault(topic, deque()).append(entry)
        self._last[(topic, partition)] = entry.offset
        self._size += 1

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
        return Wait(until)

    def pop_many(self, now: float, lagging: Lagging, limit: int) -> list[Released[T]] | Wait:
        """Up to ``limit`` records in decision order (what :meth:`pop` would release one call
        after the other), or how long to wait when none can be released. The broker's offsets
        do not move while this runs, so each input's lag is asked once."""
        asked: dict[tuple[str, int, int | None], bool] = {}

        def lag_once(topic: str, partition: int, last: int | None) -> bool:
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
            return until
        self._waiting.discard(partition)
        return self._release(min(heads)[2], partition, waiting)

    def _wait_until(self, partition: int, now: float, waiting: tuple[str, ...]) -> float | None:
        """Until when the partition waits for its lagging inputs; None: go on now."""
        given_up = self._given_up.get(partition, frozenset()).intersection(waiting)
        fresh = [topic for topic in waiting if topic not in given_up]
        if not fresh:
            self._idle_since.pop(partition, None)
            self._given_up[partition] = given_up
            return None
        since = self._idle_since.setdefault(partition, now)
        until = min(max(since, self._last_read) + self._idle_s, since + self._max_wait_s)
        if now < until:
            return until
        self._idle_since.pop(partition, None)
        self._given_up[partition] = given_up.union(fresh)
        return None

    def _lagging_inputs(
        self, partition: int, fifos: dict[str, deque[Entry[T]]], lagging: Lagging
    ) -> tuple[str, ...]:
        return tuple(
            topic
            for topic in self._topics
            if not fifos.get(topic)
            and lagging(topic, partition, self._last.get((topic, partition)))
        )

    def _release(self, topic: str, partition: int, lagging: tuple[str, ...]) -> Released[T]:
        fifos = self._fifos[partition]
        entry = fifos[topic].popleft()
        self._size -= 1
        if not any(fifos.values()):  # nothing left: the next spell of waiting starts afresh
            self._idle_since.pop(partition, None)
        before = self._stream_time.get(partition)
        if entry.order is not None and (before is None or entry.order[0] > before):
            self._stream_time[partition] = entry.order[0]
        return Released(topic, partition, entry, before, lagging)
