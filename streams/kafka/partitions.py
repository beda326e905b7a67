"""Which partition a key lives in, and reading one partition of a topic (``report``).

Every topic purposegate writes is keyed by customer id and written by Faust's aiokafka producer
with its default partitioner (``faust.transport.drivers.aiokafka``: ``producer_partitioner`` is
not set, so ``aiokafka.partitioner.DefaultPartitioner``): Kafka's murmur2 of the key bytes, the
sign bit cleared, modulo the topic's partition count. ``partition_for`` is that same function,
so a reader finds a subject's records without scanning the other partitions. It holds only
while the partition count is the one the records were written under (topics are never
repartitioned; ``docs/ops.md``).

>>> partition_for(b"C000001", 6) == partition_for(b"C000001", 6)
True
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aiokafka.partitioner import murmur2
from kafka import TopicPartition
from kafka.errors import KafkaError

from policy.errors import KafkaUnavailableError, PurposegateError
from streams.kafka.clients import TOOL_BOOTSTRAP_TIMEOUT_MS, consumer
from streams.kafka.reader import Reader, records
from streams.settings import Settings

#: Large fetches: a report reads one partition end to end as fast as the broker sends it.
FETCH_BYTES = 64 * 1024 * 1024


def partition_for(key: bytes, partitions: int) -> int:
    """The partition the producer writes ``key`` to, on a topic of ``partitions`` partitions."""
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions


def open_key_reader(settings: Settings, name: str, key: bytes) -> tuple[Reader, int]:
    """A reader of the one partition of logical topic ``name`` that holds ``key``'s records,
    from the beginning to the end offset of the moment; and that partition's number."""
    client = consumer(
        settings,
        group_id=None,
        bootstrap_timeout_ms=TOOL_BOOTSTRAP_TIMEOUT_MS,
        request_timeout_ms=30_000,
        auto_offset_reset="earliest",
        fetch_max_bytes=FETCH_BYTES,
        max_partition_fetch_bytes=FETCH_BYTES,
        max_poll_records=100_000,
    )
    try:
        physical = settings.topic(name)
        if physical not in client.topics():
            raise PurposegateError(f"unknown topic: {physical}")
        count = len(client.partitions_for_topic(physical) or ())
        partition = TopicPartition(physical, partition_for(key, count))
        client.assign([partition])
        client.seek_to_beginning(partition)
        end = client.end_offsets([partition])
    except KafkaError as exc:
        client.close()
        raise KafkaUnavailableError(f"cannot read topic metadata ({type(exc).__name__})") from None
    except PurposegateError:
        client.close()
        raise
    return Reader(client, dict(end)), partition.partition


def keyed_records(reader: Reader, key: bytes) -> Iterator[Any]:
    """The ConsumerRecords of ``key`` (compared as bytes: nothing else is decoded)."""
    for record in records(reader, follow=False):
        if record.key == key:
            yield record
