"""Records handed to the producer in bulk: appended to aiokafka's open batch per partition.

``producer.send()`` costs a coroutine, a partitioner call, a size estimate and a future per
record, and the worker writes about three records per input. aiokafka's public batch API
(``create_batch`` / ``send_batch``) is no better here: ``send_batch`` waits until the previous
batch of its topic-partition has been taken by the sender, so a decider handing over a few
records at a time waits a broker round trip per hand-over (measured: ~4 events per hand-over,
~600 events/s). :class:`BatchSender` does what ``send()`` does inside aiokafka, once per record
and without the rest: it appends each record to the open batch of its topic-partition in
aiokafka's accumulator (a new one when it is full), with no per-record future, and registers
one callback per batch naming the owner (the input's ack ticket) of each record it added.

Order: within a topic-partition the records are appended in the order given, to the one queue
of batches aiokafka keeps per topic-partition and sends in order (as ``send()`` does). A
withdrawal's tombstone therefore still follows every record of that customer sent before it.
Faust's commit flushes the producer, which waits for every batch in that queue.

The partition of a record is the one ``producer.send()`` would pick: the producer's own
partitioner over the topic's partitions (murmur2 of the key for the default), cached per key;
a consent-table changelog record names its partition (the input partition it was decided on).
The records' Kafka timestamp is the producer's clock, except for a pseudonymised route's
record (``Outgoing.coarse_time``), which carries the start of the UTC day.

aiokafka (pinned 0.14.0) keeps the accumulator and the partitioner private; they are reached
through ``broker.faust_internals`` (``Accumulator``, ``partition_of``), the one module that
touches Faust's and aiokafka's internals (docs/upstream/README.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Generic, TypeVar

from aiokafka.structs import TopicPartition

from broker.faust_internals import Accumulator, partition_of
from broker.names import TopicNames
from flow.path import Outgoing

O = TypeVar("O")  # noqa: E741 - the owner of a record (an ack ticket)

#: ``on_delivery(owners, handed_over_at, topic, future)``: a batch's future is done; one owner
#: per record in it; when it was handed to the producer (``time.monotonic()``); its topic
#: (physical name).
OnDelivery = Callable[[list[O], float, str, "asyncio.Future[Any]"], None]
#: Keys whose partition is remembered (per topic partition count) before the cache restarts.
PARTITION_CACHE_SIZE = 100_000


class BatchSender(Generic[O]):
    """Hands ordered records to the producer, one batch per topic-partition (module doc).

    ``on_notice(owner, record, future)``: a tombstone (``Outgoing.notice``) was appended; its
    own future gives the offset the broker puts it at (``agents.notices``). Called before the
    record can be delivered, so that its owner can owe the notice record first."""

    def __init__(
        self,
        producer: Callable[[], Any],
        names: TopicNames,
        on_notice: Callable[[O, Outgoing, asyncio.Future[Any]], None] | None = None,
    ) -> None:
        self._producer = producer  # the started aiokafka producer (Faust's, started later)
        self._names = names
        self._on_notice = on_notice
        self._partitions: dict[str, list[int]] = {}
        self._by_key: dict[tuple[bytes, int], int] = {}

    async def send(
        self, records: Sequence[tuple[Outgoing, O]], on_delivery: OnDelivery[O], now_s: float
    ) -> list[asyncio.Future[Any]]:
        """Hand ``records`` (each with its owner) to the producer; returns the futures of the
        producer batches they went into (done when the broker has them). Raises if the
        producer refuses a batch at once: batches handed over before it may be on their way,
        so the caller must not ack any owner of ``records``."""
        producer = self._producer()
        groups: dict[TopicPartition, list[tuple[Outgoing, O]]] = {}
        for item in records:
            record = item[0]
            if record.partition is None:
                topic = self._names.physical(record.topic)
                partition = await self._partition(producer, topic, record.key)
            else:  # a changelog record: its physical topic and partition are given
                topic, partition = record.topic, record.partition
                await self._known(producer, topic)  # the sender needs the topic's leaders
            groups.setdefault(TopicPartition(topic, partition), []).append(item)
        today_ms: int | None = None
        if any(record.coarse_time for record, _ in records):
            today_ms = int(day_start_s_from(now_s) * 1000)
        accumulator = Accumulator(producer)
        handed = time.monotonic()
        futures: list[asyncio.Future[Any]] = []
        for tp, items in groups.items():
            owners: dict[Any, list[O]] = {}
            for record, owner in items:
                stamp = today_ms if record.coarse_time else None
                told = record.notice is not None and self._on_notice is not None
                batch, future = await accumulator.append(tp, record, stamp, own=told)
                if told and self._on_notice is not None:
                    self._on_notice(owner, record, future)
                owners.setdefault(batch, []).append(owner)
            for batch, its in owners.items():
                batch.future.add_done_callback(partial(on_delivery, its, handed, tp.topic))
                futures.append(batch.future)
        return futures

    async def _known(self, producer: Any, topic: str) -> list[int]:
        """The topic's partitions, asked once: the producer then has the topic's metadata."""
        partitions = self._partitions.get(topic)
        if partitions is None:
            partitions = sorted(await producer.partitions_for(topic))
            self._partitions[topic] = partitions
        return partitions

    async def _partition(self, producer: Any, topic: str, key: bytes) -> int:
        partitions = await self._known(producer, topic)
        cache_key = (key, len(partitions))
        found = self._by_key.get(cache_key)
        if found is None:
            if len(self._by_key) >= PARTITION_CACHE_SIZE:
                self._by_key.clear()
            found = partition_of(producer, key, partitions)  # what send() would pick
            self._by_key[cache_key] = found
        return found


def day_start_s_from(now_s: float) -> float:
    """The start of the UTC day of ``now_s`` (seconds since the epoch).

    >>> day_start_s_from(1795633411.5)
    1795564800.0
    """
    return now_s - now_s % 86_400
