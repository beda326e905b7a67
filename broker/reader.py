"""Reading topics from the beginning to the end offsets of the moment (``dump``, ``explain``):
every partition assigned, no consumer group, nothing committed."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import TopicPartition
from kafka.errors import KafkaError

from broker.clients import TOOL_BOOTSTRAP_TIMEOUT_MS, consumer
from config.settings import Settings
from policy.errors import KafkaUnavailableError, PurposegateError

POLL_MS = 500
#: Give up when no record arrives for this long although the end offsets say more exist.
STALL_TIMEOUT_S = 30.0


@dataclass
class Reader:
    """Reads assigned partitions from the beginning; knows when it has reached the end."""

    client: Any  # KafkaConsumer
    end: dict[TopicPartition, int]

    def at_end(self) -> bool:
        return all(self.client.position(tp) >= offset for tp, offset in self.end.items())


def open_reader(settings: Settings, names: Sequence[str]) -> Reader:
    client = consumer(
        settings,
        group_id=None,
        bootstrap_timeout_ms=TOOL_BOOTSTRAP_TIMEOUT_MS,
        request_timeout_ms=10_000,
        auto_offset_reset="earliest",
    )
    try:
        existing = client.topics()
        missing = [n for n in names if settings.topic(n) not in existing]
        if missing:
            raise PurposegateError(
                "unknown topic(s), or not readable by this client's principal: "
                + ", ".join(settings.topic(n) for n in missing)
            )
        partitions = [
            TopicPartition(settings.topic(n), p)
            for n in names
            for p in sorted(client.partitions_for_topic(settings.topic(n)) or ())
        ]
        client.assign(partitions)
        client.seek_to_beginning(*partitions)
        end = client.end_offsets(partitions)
    except KafkaError as exc:
        client.close()
        raise KafkaUnavailableError(f"cannot read topic metadata ({type(exc).__name__})") from None
    except PurposegateError:
        client.close()
        raise
    return Reader(client, dict(end))


def records(reader: Reader, follow: bool) -> Iterator[Any]:
    """ConsumerRecords in poll order until the end offsets (or forever with ``follow``)."""
    last_progress = time.monotonic()
    while follow or not reader.at_end():
        batch = reader.client.poll(timeout_ms=POLL_MS)
        if batch:
            last_progress = time.monotonic()
        elif not follow and time.monotonic() - last_progress > STALL_TIMEOUT_S:
            raise PurposegateError("no records arrive although the end offsets say more exist")
        for tp in sorted(batch, key=lambda t: (t.topic, t.partition)):
            yield from batch[tp]
