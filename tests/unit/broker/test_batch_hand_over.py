"""The worker's fetch loop hands each fetch's input records to the agent as one batch
(issue 23 item 2, ``broker.consumer.SnapshotConsumer._hand_over``), keeping what Faust's loop
does per record: its filter of partitions no longer active, its read offsets (a record before
one was read already), its gaps, and no hand-over once the flow stops or the generation
changes; other records (the changelog) still go one by one to Faust's conductor. On the
worker's consumer, never connected.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from faust.types import TP

from broker.app import build_app
from config.settings import Settings

ORDERS = "orders"
CHANGELOG = "app-consent-state-changelog"
ORDERS_0, ORDERS_1, CHANGELOG_0 = TP(ORDERS, 0), TP(ORDERS, 1), TP(CHANGELOG, 0)


def record(tp: TP, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        tp.topic, tp.partition, offset, 1_700_000_000_000, 0, b"k", b"v", None, 1, 1, ()
    )


class Recorder:
    """The agent's door and Faust's conductor: what each was handed."""

    def __init__(self) -> None:
        self.batches: list[list[tuple[TP, int]]] = []
        self.one_by_one: list[tuple[TP, int]] = []

    async def sink(self, messages: list[Any]) -> None:
        self.batches.append([(m.tp, m.offset) for m in messages])

    async def callback(self, message: Any) -> None:
        self.one_by_one.append((message.tp, message.offset))


def consumer(recorder: Recorder) -> Any:
    ours = build_app(Settings()).consumer
    ours.input_sink = recorder.sink
    ours.input_topics = frozenset({ORDERS})
    ours.callback = recorder.callback
    ours.highwater = lambda tp: 100
    ours.app.topics._acking_topics.update({ORDERS, CHANGELOG})
    return ours


def hand_over(ours: Any, records: dict[TP, list[int]], active: set[TP] | None) -> None:
    fetched = {tp: [record(tp, offset) for offset in offsets] for tp, offsets in records.items()}
    # on the consumer's own loop (Faust's waits schedule their tasks there)
    ours.loop.run_until_complete(ours._hand_over(fetched, active, ours.input_sink))


# (read offsets before, fetched, records handed over in the batch, read offsets after, gaps)
ROWS = {
    "in-order": ({}, {ORDERS_0: [0, 1, 2]}, [0, 1, 2], {ORDERS_0: 2}, []),
    "read-already": ({ORDERS_0: 5}, {ORDERS_0: [3, 4, 5, 6]}, [5, 6], {ORDERS_0: 6}, []),
    # an offset jump past the read offset (compaction, a marker): a gap, as Faust records it
    # (an interval [6, 10): its end is the record after the jump, which is acked anyway)
    "a-gap": ({ORDERS_0: 5}, {ORDERS_0: [5, 9, 10]}, [5, 9, 10], {ORDERS_0: 10}, [(6, 10)]),
    "two-partitions": (
        {},
        {ORDERS_0: [0, 1], ORDERS_1: [7]},
        [0, 1, 7],
        {ORDERS_0: 1, ORDERS_1: 7},
        [],
    ),
    "nothing-new": ({ORDERS_0: 9}, {ORDERS_0: [3, 4]}, None, {ORDERS_0: 9}, []),
}


@pytest.mark.parametrize(
    ("read", "fetched", "batch", "read_after", "gaps"), ROWS.values(), ids=ROWS
)
def test_when_a_fetch_lands_then_its_unread_input_records_go_over_as_one_batch(
    read: dict[TP, int],
    fetched: dict[TP, list[int]],
    batch: list[int] | None,
    read_after: dict[TP, int],
    gaps: list[tuple[int, int]],
) -> None:
    recorder = Recorder()
    ours = consumer(recorder)
    ours._read_offset.update(read)
    hand_over(ours, fetched, None)
    handed = [[offset for _, offset in one] for one in recorder.batches]
    assert handed == ([] if batch is None else [batch])
    assert {tp: ours._read_offset[tp] for tp in fetched} == read_after
    assert [(i.begin, i.end) for i in sorted(ours._gap[ORDERS_0])] == gaps


def test_when_a_partition_was_paused_meanwhile_then_its_records_are_not_handed_over() -> None:
    recorder = Recorder()
    ours = consumer(recorder)
    hand_over(ours, {ORDERS_0: [0, 1], ORDERS_1: [0]}, active={ORDERS_1})
    assert recorder.batches == [[(ORDERS_1, 0)]]
    assert ours._read_offset[ORDERS_0] is None  # read again when it is resumed


def test_when_the_queue_of_a_partition_is_full_then_its_fetched_records_still_go_over() -> None:
    recorder = Recorder()
    ours = consumer(recorder)
    ours._buffered_partitions.add(ORDERS_0)  # Faust's "buffer full": not fetched, not dropped
    hand_over(ours, {ORDERS_0: [0]}, active=set())
    assert recorder.batches == [[(ORDERS_0, 0)]]


@pytest.mark.parametrize("stop", ["flow-stopped", "generation-changed"])
def test_when_a_rebalance_begins_then_nothing_is_handed_over(stop: str) -> None:
    recorder = Recorder()
    ours = consumer(recorder)
    if stop == "flow-stopped":
        ours.stop_flow()
    else:

        async def generation_moves(tp: TP, offset: int, *rest: Any) -> None:
            ours.app.consumer_generation_id += 1

        ours._add_gap = generation_moves  # a jump: the generation changes meanwhile
        ours._read_offset[ORDERS_0] = 1
    hand_over(ours, {ORDERS_0: [0, 5]}, None)
    assert recorder.batches == []


def test_when_changelog_records_come_then_faust_takes_them_one_by_one() -> None:
    recorder = Recorder()
    ours = consumer(recorder)
    hand_over(ours, {CHANGELOG_0: [3, 4], ORDERS_0: [0]}, None)
    assert recorder.one_by_one == [(CHANGELOG_0, 3), (CHANGELOG_0, 4)]
    assert recorder.batches == [[(ORDERS_0, 0)]]
    assert ours._read_offset[CHANGELOG_0] == 4


def test_when_no_door_is_set_then_faust_drains_record_by_record() -> None:
    ours = build_app(Settings()).consumer
    assert ours.input_sink is None  # until the agent registers (agents.inputs.register)
