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

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2

from broker.clients import check_connection, connection_config
from broker.faust_internals import load_topic_metadata
from broker.reader import POLL_MS, STALL_TIMEOUT_S
from config.settings import Settings
from policy.errors import KafkaUnavailableError, PurposegateError

#: Large fetches: a report reads one partition end to end as fast as the broker sends it.
FETCH_BYTES = 64 * 1024 * 1024


def partition_for(key: bytes, partitions: int) -> int:
    """The partition the producer writes ``key`` to, on a topic of ``partitions`` partitions."""
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions


def read_key(
    settings: Settings, name: str, key: bytes, seen: Callable[[Any], None] | None = None
) -> tuple[int, list[bytes | None]]:
    """The values of ``key``'s records in logical topic ``name``, from the beginning to the end
    offset of the moment, reading only the partition that holds them; and its number.
    ``seen(record)``, when given, is called with every record of the partition (any key).

    aiokafka, not kafka-python: its record parsing is compiled (a report reads every record of
    the partition to compare keys; kafka-python's pure-Python parsing takes ~70 µs a record).
    """
    check_connection(settings)  # refused, TLS, SASL: the one readable line every command gives
    try:
        return asyncio.run(_read_key(settings, settings.topic(name), key, seen))
    except (KafkaError, TimeoutError) as exc:
        raise KafkaUnavailableError(
            f"cannot read {settings.topic(name)} ({type(exc).__name__})"
        ) from None


async def started_reader(settings: Settings, **overrides: Any) -> AIOKafkaConsumer:
    """A started aiokafka consumer for reading topics with no consumer group (the office's
    tools: ``report``, ``affected``, ``policies``); stopped again when it cannot start."""
    config: dict[str, Any] = {
        **connection_config(settings),
        "group_id": None,
        "enable_auto_commit": False,
        "request_timeout_ms": 30_000,
        "fetch_max_bytes": FETCH_BYTES,
        "max_partition_fetch_bytes": FETCH_BYTES,
        **overrides,
    }
    client = AIOKafkaConsumer(**config)
    try:
        await asyncio.wait_for(client.start(), settings.kafka_connect_timeout_s + 5)
    except BaseException:
        await client.stop()
        raise
    return client


async def _read_key(
    settings: Settings, physical: str, key: bytes, seen: Callable[[Any], None] | None
) -> tuple[int, list[bytes | None]]:
    client = await started_reader(settings, auto_offset_reset="earliest")
    try:
        if physical not in await client.topics():
            raise PurposegateError(f"unknown topic: {physical}")
        # The consumer tracks metadata only of topics it reads: ask for this one's (no public
        # call of aiokafka's does; kafka-python's partitions_for_topic does the same).
        await load_topic_metadata(client, physical)
        count = len(client.partitions_for_topic(physical) or ())
        if not count:
            raise PurposegateError(f"no partitions known for topic {physical}")
        partition = TopicPartition(physical, partition_for(key, count))
        client.assign([partition])
        await client.seek_to_beginning(partition)
        end = (await client.end_offsets([partition]))[partition]
        return partition.partition, await _values(client, partition, end, key, seen)
    finally:
        await client.stop()


async def _values(
    client: Any,
    partition: TopicPartition,
    end: int,
    key: bytes,
    seen: Callable[[Any], None] | None,
) -> list[bytes | None]:
    values: list[bytes | None] = []
    last_progress = time.monotonic()
    while await client.position(partition) < end:
        batch = await client.getmany(partition, timeout_ms=POLL_MS)
        if batch:
            last_progress = time.monotonic()
        elif time.monotonic() - last_progress > STALL_TIMEOUT_S:
            raise PurposegateError("no records arrive although the end offsets say more exist")
        fetched = batch.get(partition, ())
        values += [r.value for r in fetched if r.key == key]
        if seen is not None:
            for record in fetched:
                seen(record)
    return values
