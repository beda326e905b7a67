"""Where the agent meets Faust beyond its stream: the current event, the table, the consumer.

Each of these works around a Faust default that the event-time merge breaks or needs:

- :func:`deciding`: Faust's tables (and its RocksDB store) take the partition of a write from
  the *current event*, which the stream sets to the last record read; with the merge that is
  usually another record than the one being decided.
- :class:`FaustStates`: the consent table written for the decided record's partition
  explicitly, returning the changelog write so the record is acked only once it is delivered.
- :class:`InputOffsets`: how far each input topic-partition goes on the broker, for the
  merge's lag test.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Final

import faust.streams
from faust.types import TP

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
    """A changelog write handed to the producer later (:meth:`FaustStates.send_deferred`);
    callbacks added now go to the producer's future then."""

    __slots__ = ("callbacks", "key", "partition", "value")

    def __init__(self, partition: int, key: bytes, value: bytes | None) -> None:
        self.partition, self.key, self.value = partition, key, value
        self.callbacks: list[Any] = []

    def add_done_callback(self, callback: Any) -> None:
        self.callbacks.append(callback)


class FaustStates:
    """The consent table: state written for the input partition of the record decided; one
    extra key per partition holds its forgetting horizon (``policy.forgetting``), restored
    from the changelog with the rest.

    The table's dict changes at once (the next decision reads it), but the changelog records
    wait in :attr:`deferred` until :meth:`send_deferred`: the agent sends them after it has
    handed over the outputs of the same decisions, so that the broker never has a state whose
    outputs it might not get (a worker killed in between would decide those inputs again from
    that state, and a withdrawal decided again owes no tombstone any more)."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.deferred: list[DeferredWrite] = []

    def get(self, key: bytes) -> bytes | None:
        # the store itself: the table's own get() also calls every sensor, once per event
        value: bytes | None = self.table.data.get(key)
        return value

    def put(self, partition: int, key: bytes, value: bytes | None) -> DeferredWrite:
        """Write the state (None: delete the key) to the table now; its changelog record
        (a tombstone for None) waits for :meth:`send_deferred`."""
        write_live(self.table.data, partition, key, value)  # the key's partition noted too
        write = DeferredWrite(partition, key, value)
        self.deferred.append(write)
        return write

    def send_deferred(self) -> None:
        """Hand the waiting changelog records to the producer, in the order written."""
        writes, self.deferred = self.deferred, []
        for write in writes:
            raw = {"value_serializer": "raw"} if write.value is None else {}
            sent = self.table.send_changelog(write.partition, write.key, write.value, **raw)
            for callback in write.callbacks:
                sent.add_done_callback(callback)

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

    def lagging(self, topic: str, partition: int, last: int | None) -> bool:
        """Are there records of ``topic``/``partition`` on the broker past offset ``last``
        (None: nothing read yet)?"""
        consumer = self.app.consumer
        tp = TP(self.names.physical(topic), partition)
        if tp not in self._assignment(consumer):
            return False
        end: int | None = consumer.highwater(tp)
        if end is None:
            return True  # no fetch answered yet: unknown, so wait (bounded)
        if last is None:
            # Nothing read yet: lag if the log ends past the committed position.
            return end > (self._committed(tp) or 0)
        return end - 1 > last

    def describe(self, topic: str, partition: int, last: int | None) -> str:
        """Where an input stands, for the log: ``orders (end 120, read 17, committed 3)``."""
        tp = TP(self.names.physical(topic), partition)
        end = self.app.consumer.highwater(tp)
        return f"{topic} (end {end}, read {last}, committed {self._committed(tp)})"

    def _committed(self, tp: TP) -> int | None:
        # Faust keeps the committed offsets it knows in this private map (None: never).
        committed: int | None = getattr(self.app.consumer, "_committed_offset", {}).get(tp)
        return committed

    def _assignment(self, consumer: Any) -> frozenset[TP]:
        generation = self.app.consumer_generation_id
        if self._assigned[0] != generation:
            self._assigned = (generation, frozenset(consumer.assignment()))
        return self._assigned[1]
