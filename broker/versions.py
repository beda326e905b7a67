"""Which policy version decided when, read from the audit topic's headers alone: every record
carries ``purposegate-policy-version``, so nothing is decoded (``policies``, ``explain``)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from broker.clients import check_connection
from broker.faust_internals import load_topic_metadata
from broker.partitions import started_reader
from broker.reader import POLL_MS, STALL_TIMEOUT_S
from config.settings import Settings
from policy import topics
from policy.errors import KafkaUnavailableError, PurposegateError
from policy.history import Use
from wire.headers import POLICY_VERSION


def audit_uses(settings: Settings) -> dict[str, Use]:
    """Each version's first and last audit record time (Kafka timestamp) and record count."""
    check_connection(settings)
    try:
        found = asyncio.run(_read(settings, settings.topic(topics.AUDIT)))
    except (KafkaError, TimeoutError) as exc:
        raise KafkaUnavailableError(
            f"cannot read {settings.topic(topics.AUDIT)} ({type(exc).__name__})"
        ) from None
    return {
        version: Use(_time(first), _time(last), n) for version, (first, last, n) in found.items()
    }


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


#: version -> [first timestamp ms, last timestamp ms, records]
Seen = dict[str, list[int]]


async def _read(settings: Settings, physical: str) -> Seen:
    client = await started_reader(settings, auto_offset_reset="earliest")
    try:
        if physical not in await client.topics():
            raise PurposegateError(f"unknown topic: {physical}")
        await load_topic_metadata(client, physical)  # as partitions.read_key does
        parts = [TopicPartition(physical, p) for p in client.partitions_for_topic(physical) or ()]
        client.assign(parts)
        await client.seek_to_beginning(*parts)
        ends = await client.end_offsets(parts)
        return await _scan(client, {tp: end for tp, end in ends.items() if end > 0})
    finally:
        await client.stop()


async def _scan(client: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> Seen:
    seen: Seen = {}
    for tp in set(client.assignment()) - set(ends):
        client.pause(tp)
    last_progress = time.monotonic()
    while ends:
        batch = await client.getmany(*ends, timeout_ms=POLL_MS)
        if batch:
            last_progress = time.monotonic()
        elif time.monotonic() - last_progress > STALL_TIMEOUT_S:
            raise PurposegateError("no records arrive although the end offsets say more exist")
        for tp, fetched in batch.items():
            for record in fetched:
                _note(seen, dict(record.headers or ()).get(POLICY_VERSION), record.timestamp)
            if await client.position(tp) >= ends[tp]:
                del ends[tp]
                client.pause(tp)
    return seen


def _note(seen: Seen, version: bytes | None, ms: int) -> None:
    if not version:
        return
    entry = seen.setdefault(version.decode("ascii", "replace"), [ms, ms, 0])
    entry[0], entry[1], entry[2] = min(entry[0], ms), max(entry[1], ms), entry[2] + 1
