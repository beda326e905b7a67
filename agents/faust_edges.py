"""Where the agent meets Faust beyond its stream: the current event, the table, the consumer.

Each of these works around a Faust default that the event-time merge breaks or needs:

- :func:`deciding`: Faust's tables (and its RocksDB store) take the partition of a write from
  the *current event*, which the stream sets to the last record read; with the merge that is
  usually another record than the one being decided.
- :class:`FaustStates`: the consent table written for the decided record's partition
  explicitly, returning the changelog write so the record is acked only once it is delivered.
- :class:`InputOffsets`: how far each input topic-partition goes on the broker and in the
  fetch, for the merge's lag test, and the merge's fetch plan applied to the consumer.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Final

import faust.streams
from faust.types import TP

from agents.merge import FetchPlan, Lag
from agents.runtime import Outgoing
from streams.kafka.names import TopicNames
from streams.kafka.restore import write_live


@contextlib.contextmanager
def deciding(event: Any) -> Iterator[None]:
    """Make ``event`` Faust's *current event* while it is decided."""
    token = faust.streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        faust.streams._current_event.reset(token)


#: The key of a partition's forgetting horizon in the consent table: not UTF-8, so never a
#: customer id (those are UTF-8 strings).
HORIZON_KEY: Final = b"\xffpurposegate-forgetting-horizon:%d"


class DeferredWrite:
    """A changelog write handed to the producer later (:meth:`FaustStates.take_deferred`),
    with the owner (the input's ack ticket) its delivery counts for."""

    __slots__ = ("key", "owner", "partition", "value")

    def __init__(self, partition: int, key: bytes, value: bytes | None) -> None:
        self.partition, self.key, self.value = partition, key, value
        self.owner: Any = None


class FaustStates:
    """The consent table: state written for the input partition of the record decided; one
    extra key per partition holds its forgetting horizon (``policy.forgetting``), restored
    from the changelog with the rest.

    The table's dict changes at once (the next decision reads it), but the changelog records
    wait in :attr:`deferred` until :meth:`take_deferred`: the agent hands them to the producer
    once the outputs of the same decisions are delivered (``agents.state_after_outputs``), so
    that the broker never has a state whose outputs it might not get (a worker killed in
    between would decide those inputs again from that state, and a withdrawal decided again
    owes no tombstone any more). Not through Faust's ``send_changelog``: its producer buffer
    makes the fetch wait (``wait_until_ebb`` in the conductor) until it drains one record at a
    time, which starves the event-time merge of the records it waits for."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.deferred: list[DeferredWrite] = []

    def get(self, key: bytes) -> bytes | None:
        # the store itself: the table's own get() also calls every sensor, once per event
        value: bytes | None = self.table.data.get(key)
        return value

    def put(self, partition: int, key: bytes, value: bytes | None) -> DeferredWrite:
        """Write the state (None: delete the key) to the table now; its changelog record
        (a tombstone for None) waits for :meth:`take_deferred`."""
        write_live(self.table.data, partition, key, value)  # the key's partition noted too
        write = DeferredWrite(partition, key, value)
        self.deferred.append(write)
        return write

    def take_deferred(self) -> list[tuple[Outgoing, Any]]:
        """The waiting changelog records, in the order written, each with its owner: records
        of the table's changelog topic (physical name) on the partition they were decided on."""
        writes, self.deferred = self.deferred, []
        topic = self.table.changelog_topic.get_topic_name()
        return [
            (Outgoing(topic, write.key, write.value, [], partition=write.partition), write.owner)
            for write in writes
        ]

    def drop_deferred(self) -> list[DeferredWrite]:
        """Forget the waiting changelog records (their decisions' outputs were not handed
        over: the worker stops, and the next one decides those inputs again)."""
        writes, self.deferred = self.deferred, []
        return writes

    def horizon(self, partition: int) -> datetime | None:
        stored = self.get(HORIZON_KEY % partition)
        return datetime.fromisoformat(stored.decode()) if stored else None

    def put_horizon(self, partition: int, horizon: datetime) -> Any:
        return self.put(partition, HORIZON_KEY % partition, horizon.isoformat().encode())

    def subjects(self) -> int:
        """How many subjects the table holds (the horizon keys are not subjects)."""
        data = self.table.data
        horizons = sum(1 for p in range(self.table.partitions or 0) if HORIZON_KEY % p in data)
        return len(data) - horizons


def forget_in_progress(app: Any, messages: Iterable[Any]) -> None:
    """Take messages out of Faust's set of records in progress (it waits for every one of them
    before a rebalance goes on and at the stop): they will not be acked, and are read again."""
    in_progress = app.consumer.unacked
    for message in messages:
        in_progress.discard(message)


class InputOffsets:
    """The consumer's view of one input topic-partition: its log end, the committed offset."""

    def __init__(self, app: Any, names: TopicNames) -> None:
        self.app = app
        self.names = names
        self._assigned: tuple[int, frozenset[TP]] = (-1, frozenset())

    def lagging(self, topic: str, partition: int, last: int | None) -> Lag:
        """Where the records of ``topic``/``partition`` past offset ``last`` (None: nothing
        read yet) are: on the broker (or in aiokafka's buffer: the log end is past aiokafka's
        position), in transit (handed over by aiokafka, not yet read by the merge), or none."""
        consumer = self.app.consumer
        tp = TP(self.names.physical(topic), partition)
        if tp not in self._assignment(consumer):
            return Lag.NONE
        end: int | None = consumer.highwater(tp)
        if end is None:
            return Lag.UNKNOWN  # no fetch answered yet: the first one brings it (bounded)
        # aiokafka's position as of its last hand-over, never its live one: that one runs
        # ahead of the records while they pass from aiokafka's thread to this one, and a
        # partition read as "all handed over, all read" then decided later records first
        position = consumer.handed_position.get(tp)
        if position is None:
            expected = last + 1 if last is not None else (self._committed(tp) or 0)
            return Lag.UNKNOWN if end > expected else Lag.NONE
        if end > position:
            return Lag.ON_BROKER
        # handed over but not read yet: only records, never a control marker (aiokafka moves its
        # position past a transaction's marker, which is no record to wait for)
        handed = consumer.handed_over.get(tp)
        return (
            Lag.IN_TRANSIT if handed is not None and (last is None or handed > last) else Lag.NONE
        )

    def apply(self, plan: FetchPlan) -> None:
        """Apply the merge's fetch plan: these input topic-partitions are not fetched."""
        physical = self.names.physical
        self.app.consumer.held_back = frozenset(TP(physical(t), p) for t, p in plan.held_back)

    def describe(self, topic: str, partition: int, last: int | None) -> str:
        """Where an input stands, for the log:
        ``orders (end 120, fetched to 40, read 17, committed 3)``."""
        tp = TP(self.names.physical(topic), partition)
        consumer = self.app.consumer
        end = consumer.highwater(tp)
        position = consumer.fetch_position(tp)
        return (
            f"{topic} (end {end}, fetched to {position}, read {last}, "
            f"committed {self._committed(tp)})"
        )

    def _committed(self, tp: TP) -> int | None:
        # Faust keeps the committed offsets it knows in this private map (None: never).
        committed: int | None = getattr(self.app.consumer, "_committed_offset", {}).get(tp)
        return committed

    def _assignment(self, consumer: Any) -> frozenset[TP]:
        generation = self.app.consumer_generation_id
        if self._assigned[0] != generation:
            self._assigned = (generation, frozenset(consumer.assignment()))
        return self._assigned[1]
