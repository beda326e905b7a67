"""A fetch that outlives a rebalance (issue 23, the two-worker stall of a CI run).

aiokafka's ``fetched_records`` waits for the next assignment when a rebalance is in progress
and then hands over records of the new assignment for the partitions it was asked for before
it; Faust drops them when those partitions are paused, and their positions are past them. The
recovery must seek after such a fetch has landed, never before
(``SnapshotConsumer.fetch_landed``, awaited by ``broker.recovery``); and a partition paused for
a rebalance must not come back into Faust's active set, and so into a fetch, when its agent's
queue drains (Faust's ``on_buffer_drop``). Reproduced here on Faust's own consumer and on the
worker's, never connected.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import pytest
from faust.types import TP

import broker.consumer
from broker.app import build_app
from config.settings import Settings

ORDERS_0, ORDERS_1, CONSENTS_0 = TP("orders", 0), TP("orders", 1), TP("consents", 0)


def consumers() -> tuple[Any, Any]:
    """Faust's aiokafka consumer as released, and the worker's."""
    released = faust.App("fetch-rebalance-released", broker="kafka://127.0.0.1:1").consumer
    return released, build_app(Settings()).consumer


# (paused when the queue drains, Faust fetches it again, the worker fetches it again)
DRAINS = {
    # a rebalance paused it: Faust puts it back in its active set, the worker does not
    "paused-for-a-rebalance": (True, True, False),
    # not paused: both fetch it again, as the queue has room
    "running": (False, True, True),
}


@pytest.mark.parametrize(("paused", "faust_fetches", "worker_fetches"), DRAINS.values(), ids=DRAINS)
def test_when_an_agent_queue_drains_then_a_paused_partition_stays_paused(
    paused: bool, faust_fetches: bool, worker_fetches: bool
) -> None:
    fetched = []
    for consumer in consumers():
        consumer._set_active_tps({ORDERS_0, ORDERS_1})
        consumer.on_buffer_full(ORDERS_0)  # the queue under pressure: not fetched for now
        assert ORDERS_0 not in consumer._get_active_partitions()
        if paused:
            consumer.pause_partitions({ORDERS_0, ORDERS_1})
        consumer.on_buffer_drop(ORDERS_0)  # the agent met an empty (cleared) queue
        fetched.append(ORDERS_0 in consumer._get_active_partitions())
    assert fetched == [faust_fetches, worker_fetches]


def test_when_a_paused_partition_is_resumed_then_it_is_fetched_again() -> None:
    _, ours = consumers()
    ours._set_active_tps({ORDERS_0})
    ours.on_buffer_full(ORDERS_0)
    ours.pause_partitions({ORDERS_0})
    ours.on_buffer_drop(ORDERS_0)
    ours.resume_partitions({ORDERS_0})  # the recovery, after its seek
    assert ORDERS_0 in ours._get_active_partitions()
    assert ORDERS_0 not in ours._buffered_partitions


def test_when_partitions_are_revoked_then_none_stays_buffered() -> None:
    _, ours = consumers()
    ours._set_active_tps({ORDERS_0, ORDERS_1})
    ours.on_buffer_full(ORDERS_0)
    asyncio.run(ours.on_partitions_revoked({ORDERS_0, ORDERS_1}))
    assert ours._buffered_partitions == set()


class HeldFetch:
    """aiokafka's fetch, held until the test lets it land."""

    def __init__(self) -> None:
        self.asked: set[TP] | None = None
        self.land = asyncio.Event()

    async def __call__(self, consumer: Any, partitions: set[TP], timeout: float) -> Any:
        self.asked = set(partitions)
        await self.land.wait()
        return {}


# (partitions about to be seeked, the seek waits for the fetch in flight)
SEEKS = {
    "asked-for-by-the-fetch": ({ORDERS_1}, True),
    "some-asked-for": ({ORDERS_1, CONSENTS_0}, True),
    "not-asked-for": ({CONSENTS_0}, False),
    "none": (set(), False),
}


@pytest.mark.parametrize(("seeked", "waits"), SEEKS.values(), ids=SEEKS)
def test_when_a_fetch_is_in_flight_then_a_seek_of_its_partitions_waits_until_it_lands(
    seeked: set[TP], waits: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldFetch()
    monkeypatch.setattr(broker.consumer, "getmany", held)
    _, ours = consumers()

    async def scenario() -> tuple[bool, bool]:
        fetch = asyncio.ensure_future(ours._getmany({ORDERS_0, ORDERS_1}, 1.0))
        await asyncio.sleep(0)
        assert held.asked == {ORDERS_0, ORDERS_1}
        landed = asyncio.ensure_future(ours.fetch_landed(seeked))
        await asyncio.sleep(0.01)
        waited = not landed.done()
        held.land.set()
        await fetch
        await asyncio.wait_for(landed, 1.0)
        return waited, ours._fetching == frozenset()

    assert asyncio.run(scenario()) == (waits, True)


def test_when_no_fetch_is_in_flight_then_a_seek_does_not_wait() -> None:
    _, ours = consumers()
    asyncio.run(asyncio.wait_for(ours.fetch_landed({ORDERS_0}), 0.1))
