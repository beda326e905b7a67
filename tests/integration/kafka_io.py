"""Produce to and read back from the real broker in tests (kafka-python, no mocks)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import TopicPartition

from broker.clients import consumer, producer
from broker.lag import LagCollector
from config.settings import Settings
from policy import topics


@dataclass(frozen=True)
class Received:
    topic: str  # logical name (prefix removed)
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]
    timestamp_ms: int = 0  # the producer's create time


def produce_raw(settings: Settings, records: Iterable[tuple[str, bytes | None, bytes]]) -> int:
    """Send ``(logical topic, key, value bytes)`` records; returns how many, all acknowledged."""
    client = producer(settings)
    count = 0
    try:
        for topic, key, value in records:
            client.send(settings.topic(topic), key=key, value=value)
            count += 1
        client.flush(timeout=60)
    finally:
        client.close()
    return count


def read_topics(
    settings: Settings,
    logical_topics: Sequence[str],
    until: int | None = None,
    timeout: float = 60.0,
    idle: float = 3.0,
) -> list[Received]:
    """Everything on ``logical_topics`` from the beginning.

    Stops when ``until`` records were read, or — without ``until`` — when nothing new arrived for
    ``idle`` seconds; gives up after ``timeout`` seconds.
    """
    return list(iter_topics(settings, logical_topics, until, timeout, idle))


def iter_topics(
    settings: Settings,
    logical_topics: Sequence[str],
    until: int | None = None,
    timeout: float = 60.0,
    idle: float = 3.0,
    settle: float | None = None,
) -> Iterator[Received]:
    """``read_topics`` one record at a time, holding none: for topics of millions of records.

    ``settle``: instead of ``idle``, stop once every partition is read to its end offset and
    no end offset moved for ``settle`` seconds (for a caller that knows the writer is done or
    nearly: no wait for the consumer's next fetch, only for the broker's own ends)."""
    client = consumer(settings, consumer_timeout_ms=500)
    try:
        partitions = [
            TopicPartition(settings.topic(t), p)
            for t in logical_topics
            for p in (client.partitions_for_topic(settings.topic(t)) or set())
        ]
        client.assign(partitions)
        client.seek_to_beginning(*partitions)
        count = 0
        deadline = time.monotonic() + timeout
        last_new = time.monotonic()
        at_ends = None if settle is None else _AtEnds(client, partitions, settle)
        while time.monotonic() < deadline:
            batch = client.poll(timeout_ms=500 if at_ends is None else 100)
            for records in batch.values():
                for r in records:
                    yield _received(settings, r)
                count += len(records)
                last_new = time.monotonic()
            if until is not None and count >= until:
                break
            if at_ends is not None:
                if at_ends.settled():
                    break
            elif until is None and time.monotonic() - last_new > idle:
                break
    finally:
        client.close()


class _AtEnds:
    """Whether a reader has read its partitions to their end offsets, and those stayed the
    same for ``settle`` seconds."""

    def __init__(self, client: Any, partitions: list[TopicPartition], settle: float) -> None:
        self.client, self.partitions, self.settle = client, partitions, settle
        self.ends: dict[TopicPartition, int] = {}
        self.since = time.monotonic()

    def settled(self) -> bool:
        if any(self.client.position(tp) < self.ends.get(tp, 0) for tp in self.partitions):
            return False  # not at the ends known yet
        ends = self.client.end_offsets(self.partitions)
        if ends != self.ends:
            self.ends, self.since = ends, time.monotonic()
            return False
        return time.monotonic() - self.since > self.settle


def _received(settings: Settings, record: Any) -> Received:
    topic = record.topic[len(settings.topic_prefix) :]
    headers = {k: v for k, v in (record.headers or [])}
    return Received(
        topic, record.partition, record.offset, record.key, record.value, headers, record.timestamp
    )


class TopicWatcher:
    """Reads ``logical_topics`` from the beginning and keeps everything it has seen, so a test
    can wait for "all N audit records are there" between steps (``keep=False``: keeps nothing,
    ``poll`` only hands the new records over, for backlogs of millions)."""

    def __init__(
        self, settings: Settings, logical_topics: Sequence[str], *, keep: bool = True
    ) -> None:
        self.settings = settings
        self.keep = keep
        self.seen: list[Received] = []
        self._client = consumer(settings, consumer_timeout_ms=200)
        partitions = [
            TopicPartition(settings.topic(t), p)
            for t in logical_topics
            for p in (self._client.partitions_for_topic(settings.topic(t)) or set())
        ]
        self._client.assign(partitions)
        self._client.seek_to_beginning(*partitions)

    def poll(self) -> list[Received]:
        batch = self._client.poll(timeout_ms=200)
        new = [_received(self.settings, r) for records in batch.values() for r in records]
        if self.keep:
            self.seen.extend(new)
        return new

    def distinct_event_ids(self) -> int:
        """Poll once; how many different events (by ``purposegate-event-id``) were seen."""
        self.poll()
        return len({r.headers.get("purposegate-event-id") for r in self.seen})

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.seen) < count and time.monotonic() < deadline:
            self.poll()
        return self.seen

    def close(self) -> None:
        self._client.close()


def uncommitted_inputs(settings: Settings) -> int:
    """Input records the worker group has not committed (never-committed partitions included).
    A worker commits an input only once everything it produced is delivered, so 0 means every
    input's outputs are on the broker: the end of a run, where "every event audited once" is not
    (after a kill, an event whose audit record was delivered may still have records owed, and
    the worker that reads it again must not be stopped before it has sent them)."""
    collector = LagCollector(settings, settings.app_id, topics=topics.INPUT_TOPICS)
    try:
        return sum(offsets.behind for offsets in collector.fetch().values())
    finally:
        collector.close()


def wait_all_committed(
    settings: Settings, timeout: float, alive: Callable[[], bool] | None = None
) -> int:
    """Wait until the group has committed every input record; the records still uncommitted
    when ``timeout`` ran out or ``alive()`` said no (0: all committed)."""
    deadline = time.monotonic() + timeout
    while True:
        left = uncommitted_inputs(settings)
        if left == 0 or time.monotonic() >= deadline or (alive is not None and not alive()):
            return left
        time.sleep(0.5)
