"""The batch sender hands records to aiokafka's accumulator (a real one, no broker): per
topic-partition in the order given, in the partition ``send()`` would pick, one callback per
batch naming each record's owner, and the start of the day on pseudonymised records."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.cluster import ClusterMetadata
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import MessageAccumulator
from aiokafka.record.default_records import DefaultRecordBatch
from aiokafka.structs import TopicPartition

from agents.sending import BatchSender, day_start_s_from
from broker.names import TopicNames
from config.settings import Settings
from flow.path import NoticeOf, Outgoing

NOW_S = 1_795_633_411.5  # 2026-11-25T19:03:31.5Z
PARTITIONS = 6


class Producer:
    """What the sender uses of aiokafka's producer, around a real accumulator."""

    def __init__(self, batch_size: int) -> None:
        self._message_accumulator = MessageAccumulator(
            ClusterMetadata(), batch_size, 0, 30.0, linger_ms=5
        )
        self._partitioner = DefaultPartitioner()
        self.taken: list[Any] = []

    def queued(self) -> dict[TopicPartition, Any]:
        return dict(self._message_accumulator._batches)

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(PARTITIONS))


def record(topic: str, key: str, value: str, coarse: bool = False) -> Outgoing:
    return Outgoing(topic, key.encode(), value.encode(), [("h", b"v")], coarse_time=coarse)


def contents(producer: Producer) -> dict[TopicPartition, list[tuple[str, str, int]]]:
    out: dict[TopicPartition, list[tuple[str, str, int]]] = {}
    for batch in producer.taken + [b for q in producer.queued().values() for b in q]:
        for r in DefaultRecordBatch(bytes(batch.get_data_buffer())):
            out.setdefault(batch.tp, []).append((r.key.decode(), r.value.decode(), r.timestamp))
    return out


async def take_full_batches(producer: Producer) -> None:
    """aiokafka's sender, as far as the accumulator sees it: it takes full batches."""
    while True:
        for queue in producer.queued().values():
            while queue and queue[0]._builder._closed:
                batch = queue.popleft()
                batch.drain_ready()
                producer.taken.append(batch)
        await asyncio.sleep(0)


async def send(producer: Producer, records: list[tuple[Outgoing, str]]) -> list[list[str]]:
    calls: list[list[str]] = []
    sender: BatchSender[str] = BatchSender(lambda: producer, TopicNames(Settings()))
    taking = asyncio.ensure_future(take_full_batches(producer))
    await sender.send(records, lambda owners, handed, topic, future: calls.append(owners), NOW_S)
    taking.cancel()
    for batch in producer.taken + [b for q in producer.queued().values() for b in q]:
        batch.done(base_offset=0)
    await asyncio.sleep(0)  # the futures' callbacks run
    return calls


def partition_of(key: str) -> int:
    return int(DefaultPartitioner()(key.encode(), list(range(PARTITIONS)), []))


async def test_when_records_are_sent_then_each_partition_keeps_their_order() -> None:
    producer = Producer(batch_size=16384)
    keys = [f"k{i % 7}" for i in range(40)]
    records = [(record("purposegate.audit", k, f"v{i}"), f"owner{i}") for i, k in enumerate(keys)]
    calls = await send(producer, records)
    got = contents(producer)
    for tp, rows in got.items():
        assert tp.partition == partition_of(rows[0][0])  # the partition send() would pick
        expected = [(k, f"v{i}") for i, k in enumerate(keys) if partition_of(k) == tp.partition]
        assert [(k, v) for k, v, _ in rows] == expected
    assert sorted(o for owners in calls for o in owners) == sorted(o for _, o in records)


@pytest.mark.parametrize(
    ("coarse", "expected_ms"),
    [
        (True, int(day_start_s_from(NOW_S) * 1000)),  # pseudonymised: the start of the day
        (False, None),  # named: the producer's clock
    ],
)
async def test_when_a_record_is_pseudonymised_then_its_timestamp_is_the_day(
    coarse: bool, expected_ms: int | None
) -> None:
    producer = Producer(batch_size=16384)
    await send(producer, [(record("shared.x.y", "k", "v", coarse), "o")])
    ((_, _, stamp),) = next(iter(contents(producer).values()))
    if expected_ms is None:
        assert stamp != int(day_start_s_from(NOW_S) * 1000)
    else:
        assert stamp == expected_ms


async def test_when_a_batch_is_full_then_the_next_one_takes_the_rest_in_order() -> None:
    producer = Producer(batch_size=512)
    values = ["x" * 100 + str(i) for i in range(20)]
    records = [(record("purposegate.audit", "same", v), f"o{i}") for i, v in enumerate(values)]
    calls = await send(producer, records)
    (batches,) = producer._message_accumulator._batches.values()
    assert len(batches) == 1  # the rest went into batches the sender took (drained)
    assert [o for owners in calls for o in owners] == [o for _, o in records]
    (rows,) = contents(producer).values()
    assert [v for _, v, _ in rows] == values


def test_when_the_day_starts_then_it_is_a_multiple_of_a_day() -> None:
    start = day_start_s_from(NOW_S)
    assert (start % 86_400, NOW_S - start < 86_400) == (0, True)
    assert start == 1_795_564_800.0


async def test_when_a_tombstone_is_sent_then_its_owner_learns_its_offset_after_the_batch() -> None:
    producer = Producer(batch_size=16384)
    told: list[tuple[str, int, int]] = []
    events: list[str] = []

    def on_notice(owner: str, sent: Outgoing, future: Any) -> None:
        events.append(f"owe {owner}")  # before anything of it can be delivered
        future.add_done_callback(
            lambda f: told.append((owner, f.result().partition, f.result().offset))
        )

    sender: BatchSender[str] = BatchSender(lambda: producer, TopicNames(Settings()), on_notice)
    tombstone = Outgoing("shared.x.y", b"k", None, [], notice=NoticeOf("use_suspended", "e1"))
    records = [(record("shared.x.y", "k", "v"), "data"), (tombstone, "stop")]
    await sender.send(records, lambda owners, *_: events.append(f"batch {owners}"), NOW_S)
    assert events == ["owe stop"]
    for queue in producer.queued().values():
        for batch in queue:
            batch.done(base_offset=40)
    await asyncio.sleep(0)
    # the batch's delivery first (the record counted down), then the notice with its offset
    assert events == ["owe stop", "batch ['data', 'stop']"]
    assert told == [("stop", partition_of("k"), 41)]
