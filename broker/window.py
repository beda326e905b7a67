"""Reading the records of a topic written in a window of time (``affected``): every partition,
from the first offset at or after the window's start (``offsets_for_times``) to the first at or
after its end plus a slack, never the rest of the topic.

A record's Kafka timestamp is its producer's clock (CreateTime); records in one partition are in
offset order but several producers (workers) may disagree by a little, so the read goes on for
``slack`` past the end and the caller keeps the records whose timestamp is in the window.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from broker.clients import check_connection
from broker.faust_internals import load_topic_metadata
from broker.partitions import started_reader
from broker.reader import POLL_MS, STALL_TIMEOUT_S
from config.settings import Settings
from policy.errors import KafkaUnavailableError, PurposegateError

#: How far producers' clocks may disagree: records this much past the end are still read.
SLACK = timedelta(minutes=5)

#: Per partition and fetch: a window is a small part of a partition, and every record fetched is
#: parsed, so fetches stay small (a report's reads of a whole partition use 64 MiB).
FETCH_BYTES = 4 * 1024 * 1024

#: (timestamp in ms, value) of each record read.
Timed = tuple[int, bytes]


def read_window(
    settings: Settings,
    name: str,
    start: datetime,
    end: datetime,
    keep: Callable[[bytes], bool] = lambda _: True,
) -> list[Timed]:
    """The values (with their timestamps) of logical topic ``name``'s records written from
    ``start`` to ``end`` + :data:`SLACK` for which ``keep(value)`` holds; tombstones skipped."""
    check_connection(settings)
    try:
        return asyncio.run(_read(settings, settings.topic(name), start, end + SLACK, keep))
    except (KafkaError, TimeoutError) as exc:
        raise KafkaUnavailableError(
            f"cannot read {settings.topic(name)} ({type(exc).__name__})"
        ) from None


async def _read(
    settings: Settings,
    physical: str,
    start: datetime,
    stop: datetime,
    keep: Callable[[bytes], bool],
) -> list[Timed]:
    client = await started_reader(
        settings, fetch_max_bytes=8 * FETCH_BYTES, max_partition_fetch_bytes=FETCH_BYTES
    )
    try:
        bounds = await _bounds(client, physical, start, stop)
        return await _values(client, bounds, keep)
    finally:
        await client.stop()


async def _bounds(
    client: AIOKafkaConsumer, physical: str, start: datetime, stop: datetime
) -> dict[TopicPartition, tuple[int, int]]:
    """Per partition: the first offset at or after ``start`` and the first at or after
    ``stop`` (the end offset when no record is that late)."""
    if physical not in await client.topics():
        raise PurposegateError(f"unknown topic: {physical}")
    await load_topic_metadata(client, physical)  # as partitions.read_key: metadata of this one
    partitions = [TopicPartition(physical, p) for p in client.partitions_for_topic(physical) or ()]
    if not partitions:
        raise PurposegateError(f"no partitions known for topic {physical}")
    ends = await client.end_offsets(partitions)
    firsts = await client.offsets_for_times({tp: _ms(start) for tp in partitions})
    lasts = await client.offsets_for_times({tp: _ms(stop) for tp in partitions})
    bounds = {}
    for tp in partitions:
        first, last = firsts.get(tp), lasts.get(tp)
        upper = last.offset if last is not None else ends[tp]
        lower = first.offset if first is not None else ends[tp]
        if lower < upper:
            bounds[tp] = (lower, upper)
    return bounds


async def _values(
    client: AIOKafkaConsumer,
    bounds: dict[TopicPartition, tuple[int, int]],
    keep: Callable[[bytes], bool],
) -> list[Timed]:
    found: list[Timed] = []
    if not bounds:
        return found
    client.assign(list(bounds))
    for tp, (lower, _) in bounds.items():
        client.seek(tp, lower)
    last_progress = time.monotonic()
    while bounds:
        batch = await client.getmany(*bounds, timeout_ms=POLL_MS)
        if batch:
            last_progress = time.monotonic()
        elif time.monotonic() - last_progress > STALL_TIMEOUT_S:
            raise PurposegateError("no records arrive although the offsets say more exist")
        for tp, fetched in batch.items():
            upper = bounds[tp][1]
            found += [
                (r.timestamp, r.value)
                for r in fetched
                if r.offset < upper and r.value is not None and keep(r.value)
            ]
            if await client.position(tp) >= upper:
                del bounds[tp]
                client.pause(tp)  # the rest of the partition is not read
    return found


def _ms(time_: datetime) -> int:
    return int(time_.timestamp() * 1000)
