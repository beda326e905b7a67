"""The commit path (issue 23 item 4): Faust's ``Consumer._new_offset`` passes a record that was
handed to the agent and never acked in two interleavings, reproduced here deterministically on
Faust's own consumer; ``broker.consumer.SnapshotConsumer`` (the worker's) never does.

Faust lets one missing offset through at the head (``min(acked) - committed > 1``), skips that
check when the committed offset is 0 or unknown, and fills a gap it took for missing offsets
even when a record it handed over lies in it. Each row runs the same bookkeeping on both
consumers: records handed to the agent (the reader took them), some acked, optionally a gap;
then the offset each would commit.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import pytest
from faust.types import TP
from faust.types.tuples import Message

from broker.app import build_app
from config.settings import Settings

TOPIC = "orders-in"
TP0 = TP(TOPIC, 0)


def consumers() -> tuple[Any, Any]:
    """Faust's aiokafka consumer as released, and the worker's (never connected)."""
    released = faust.App("commit-path-released", broker="kafka://127.0.0.1:1").consumer
    ours = build_app(Settings()).consumer
    for consumer in (released, ours):
        consumer.app.topics._acking_topics.add(TOPIC)  # as an agent's topic with acks on is
    return released, ours


def message(offset: int) -> Message:
    return Message(TOPIC, 0, offset, 0.0, 0, None, b"k", b"v", None, tp=TP0)


def reckon(
    consumer: Any,
    committed: int | None,
    handed: list[int],
    acked: list[int],
    gap: tuple[int, int] | None,
) -> int | None:
    consumer._committed_offset[TP0] = committed
    messages = {offset: message(offset) for offset in handed}
    for offset in handed:
        if hasattr(consumer, "note_handed"):
            consumer.note_handed(messages[offset])
    for offset in acked:
        consumer.ack(messages.get(offset) or message(offset))
    if gap is not None:
        asyncio.run(consumer._add_gap(TP0, *gap))
    new_offset: int | None = consumer._new_offset(TP0)
    return new_offset


# (committed, handed, acked, gap, Faust commits, the worker commits)
ROWS = {
    # the record at the committed offset never acked, the next one acked: Faust passes it
    "one-missing-at-the-head": (10, [10, 11], [11], None, 12, None),
    # a committed offset of 0 skips Faust's head check: three records passed
    "committed-zero": (0, [0, 1, 2, 3], [3], None, 4, None),
    # records before the acked one never reached the agent at all: the head check still holds
    "committed-zero-never-handed": (0, [], [3], None, 4, None),
    # never committed (a new group): Faust has no head check
    "never-committed": (None, [5, 6], [6], None, 7, None),
    # a gap Faust took for missing offsets over records it handed over and the agent dropped
    "gap-over-handed-records": (10, [10, 11, 12, 13, 14], [10, 14], (11, 13), 15, 11),
    # in order: both commit the same
    "in-order": (10, [10, 11, 12], [10, 11], None, 12, 12),
    # a real gap (offsets that are no records, a compacted range): both commit across it
    "real-gap": (10, [10, 14], [10, 14], (11, 13), 15, 15),
}


@pytest.mark.parametrize(
    ("committed", "handed", "acked", "gap", "faust_commits", "worker_commits"),
    list(ROWS.values()),
    ids=list(ROWS),
)
def test_when_a_handed_record_is_not_acked_then_the_worker_never_commits_past_it(
    committed: int | None,
    handed: list[int],
    acked: list[int],
    gap: tuple[int, int] | None,
    faust_commits: int | None,
    worker_commits: int | None,
) -> None:
    released, ours = consumers()
    assert reckon(released, committed, handed, acked, gap) == faust_commits  # the interleaving
    assert reckon(ours, committed, handed, acked, gap) == worker_commits  # the fix


def test_when_the_unfinished_record_is_acked_then_the_acks_after_it_count() -> None:
    _, ours = consumers()
    messages = [message(offset) for offset in (10, 11, 12)]
    ours._committed_offset[TP0] = 10
    for handed in messages:
        ours.note_handed(handed)
    ours.ack(messages[1])
    ours.ack(messages[2])
    assert ours._new_offset(TP0) is None  # 10 is not done
    ours.ack(messages[0])
    assert ours._new_offset(TP0) == 13  # 11 and 12 were kept, not dropped from Faust's list


def test_when_a_record_is_read_again_then_either_reading_acked_finishes_its_offset() -> None:
    _, ours = consumers()
    ours._committed_offset[TP0] = 10
    dropped, again = message(10), message(10)  # dropped at a rebalance, read again after it
    ours.note_handed(dropped)
    ours.note_handed(again)
    ours.ack(again)
    assert ours._new_offset(TP0) == 11


def test_when_partitions_are_revoked_then_nothing_unfinished_is_kept() -> None:
    _, ours = consumers()
    ours.note_handed(message(10))
    asyncio.run(ours.on_partitions_revoked({TP0}))
    assert ours.unfinished == {}
