"""The bulk restore's pure part: changelog records applied to the table's dict, in order, as
Faust's own recovery applies them (last value wins, a tombstone deletes)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any
from unittest.mock import MagicMock

import faust.stores
import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaTimeoutError
from faust.types import TP

from broker.restore import (
    STORE_URL,
    BulkRestoreStore,
    _read_to_end,
    apply_records,
    write_live,
)

A, B, H = b"C000001", b"C000002", b"\xffpurposegate-forgetting-horizon:0"


@pytest.mark.parametrize(
    ("before", "records", "data", "partitions"),
    [
        # values land, each key with its partition
        ({}, [(A, b"a1"), (B, b"b1")], {A: b"a1", B: b"b1"}, {A: 3, B: 3}),
        # the last value of a key wins
        ({}, [(A, b"a1"), (A, b"a2")], {A: b"a2"}, {A: 3}),
        # a tombstone deletes the key and its partition entry
        ({}, [(A, b"a1"), (A, None)], {}, {}),
        # a key set again after its tombstone is there
        ({}, [(A, b"a1"), (A, None), (A, b"a3")], {A: b"a3"}, {A: 3}),
        # a tombstone for a key never seen is no error
        ({}, [(B, None)], {}, {}),
        # a tombstone deletes a key already in the table (an earlier batch)
        ({A: b"a0"}, [(A, None), (B, b"b1")], {B: b"b1"}, {B: 3}),
        # the forgetting horizon key (not UTF-8) is an ordinary key
        ({}, [(H, b"2024-01-01T00:00:00+00:00")], {H: b"2024-01-01T00:00:00+00:00"}, {H: 3}),
        # no records: the table unchanged
        ({A: b"a0"}, [], {A: b"a0"}, {A: 3}),
    ],
)
def test_when_changelog_records_are_applied_then_the_table_holds_the_last_of_each_key(
    before: dict[bytes, bytes],
    records: list[tuple[bytes, bytes | None]],
    data: dict[bytes, bytes],
    partitions: dict[bytes, int],
) -> None:
    table = dict(before)
    key_partition = dict.fromkeys(before, 3)
    apply_records(table, key_partition, 3, records)
    assert table == data
    assert key_partition == partitions


def test_when_the_app_names_the_store_url_then_faust_builds_the_bulk_restore_store() -> None:
    assert faust.stores.by_url(STORE_URL) is BulkRestoreStore


@pytest.mark.parametrize(
    ("writes", "revoked", "left"),
    [
        # a key the agent wrote goes with its partition
        ([(3, A, b"a1")], {3}, {}),
        # a key of another partition stays
        ([(3, A, b"a1"), (4, B, b"b1")], {3}, {B: b"b1"}),
        # a key the agent deleted is not noted any more
        ([(3, A, b"a1"), (3, A, None), (4, B, b"b1")], {3, 4}, {}),
        # nothing revoked: everything stays
        ([(3, A, b"a1")], set(), {A: b"a1"}),
    ],
)
def test_when_a_partition_is_revoked_then_the_keys_the_agent_wrote_to_it_go(
    writes: list[tuple[int, bytes, bytes | None]], revoked: set[int], left: dict[bytes, bytes]
) -> None:
    store = BulkRestoreStore(STORE_URL, MagicMock(), MagicMock())
    for partition, key, value in writes:
        write_live(store, partition, key, value)
    store._drop_keys(revoked)
    assert dict(store.data) == left


class FakeChangelogConsumer:
    """What ``_read_to_end`` uses of aiokafka's consumer; ``stuck`` positions never move."""

    def __init__(self, logs: dict[int, list[bytes]], stuck: set[int]) -> None:
        self.logs, self.stuck = logs, stuck
        self.positions: dict[int, int] = {}

    def assign(self, parts: list[TopicPartition]) -> None:
        self.topic = parts[0].topic

    async def end_offsets(self, parts: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: len(self.logs[tp.partition]) for tp in parts}

    async def seek_to_beginning(self, *parts: TopicPartition) -> None:
        self.positions = {tp.partition: 0 for tp in parts}

    async def position(self, tp: TopicPartition) -> int:
        return self.positions[tp.partition]

    async def getmany(self, *parts: TopicPartition, **_: Any) -> dict[TopicPartition, list[Any]]:
        out: dict[TopicPartition, list[Any]] = {}
        for tp in parts:
            if tp.partition in self.stuck:
                continue
            start = self.positions[tp.partition]
            values = self.logs[tp.partition][start : start + 2]
            out[tp] = [
                SimpleNamespace(offset=start + i, key=v, value=v) for i, v in enumerate(values)
            ]
            self.positions[tp.partition] = start + len(values)
        return out


@pytest.mark.parametrize(
    ("logs", "stuck", "outcome"),
    [
        # every partition read to its end
        ({0: [A, B, H], 1: [B]}, set(), {0: [A, B, H], 1: [B]}),
        # an empty partition is at its end at once
        ({0: [], 1: [A]}, set(), {0: [], 1: [A]}),
        # a partition whose position never moves: the read gives up (Faust's recovery reads)
        ({0: [A], 1: [B]}, {1}, KafkaTimeoutError),
    ],
)
def test_when_the_changelog_is_read_to_its_end_then_each_record_once_or_a_timeout_when_stuck(
    logs: dict[int, list[bytes]], stuck: set[int], outcome: Any
) -> None:
    consumer = FakeChangelogConsumer(logs, stuck)
    applied: dict[int, list[bytes]] = {p: [] for p in logs}

    def apply(partition: int, records: Any) -> None:
        applied[partition].extend(key for key, _ in records)

    read = _read_to_end(consumer, [TP("changelog", p) for p in logs], apply, stall_s=0.05)
    if isinstance(outcome, dict):
        assert asyncio.run(read) == {p: len(v) for p, v in logs.items()}
        assert applied == outcome
    else:
        with pytest.raises(outcome):
            asyncio.run(read)
