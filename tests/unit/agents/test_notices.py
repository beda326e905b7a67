"""No ack without the record of the notice (``agents.delivery``, ``agents.notices``): an input
whose tombstone the broker has is acked only once the tombstone's notice record — its topic,
partition and offset — is delivered to ``purposegate.erasures``; if that record cannot be
written, the input is never acked and the worker stops."""

from __future__ import annotations

import asyncio
from collections import namedtuple
from types import SimpleNamespace
from typing import Any, cast

import pytest

from agents.delivery import Deliveries
from agents.runtime import Runtime
from broker.erasures import NOTICE, notice_from, record_key
from flow.path import NoticeOf, Outgoing
from policy import topics
from tests.unit.agents.pipeline_fakes import runtime
from wire import Decoded

Metadata = namedtuple("Metadata", "topic partition offset")
TOPIC = "shared.affectus.marketing"
TOMBSTONE = Outgoing(TOPIC, b"opaque-key", None, [], notice=NoticeOf("use_suspended", "e-9"))


class Event:
    """A Faust event as the ack tracker holds it."""

    def __init__(self) -> None:
        self.acked = False
        self.message = None

    def ack(self) -> bool:
        self.acked = True
        return False  # no sensor to tell


class Producer:
    """aiokafka's producer as the notice writer uses it: ``send`` gives a delivery future."""

    def __init__(self, refuse: bool) -> None:
        self.refuse = refuse
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[Any]:
        if self.refuse:
            raise RuntimeError("producer closed")
        self.sent.append((topic, key, value))
        return self.delivery


def deliveries(producer: Producer, stopped: list[BaseException]) -> Deliveries:
    shared = runtime()  # cached for other tests: a runtime of our own around its parts
    app = cast(Any, SimpleNamespace(monitor=None, should_stop=False))
    rt = Runtime(shared.settings, shared.compiled, shared.codec, app=app)
    rt.aiokafka_producer = lambda: producer  # type: ignore[method-assign]
    rt.stop_failed = stopped.append  # type: ignore[method-assign]
    return Deliveries(rt)


@pytest.mark.parametrize(
    ("refuse", "acked"),
    [
        (False, True),  # the notice record is delivered: now the input may be acked
        (True, False),  # it cannot be written: never acked, the worker stops
    ],
)
async def test_when_a_tombstone_is_delivered_then_its_input_waits_for_the_notice_record(
    refuse: bool, acked: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("agents.delivery.forget_in_progress", lambda app, messages: None)
    producer, stopped = Producer(refuse), []
    d = deliveries(producer, stopped)
    event = Event()
    ticket = d.acks.track(("fuzz.consents", 0), event, 1)  # one record: the tombstone
    tombstone_delivered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    d.notice_sent(ticket, TOMBSTONE, tombstone_delivered)
    batch: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    batch.set_result(None)
    d.batch_delivered([ticket], 0.0, TOPIC, batch)
    assert not event.acked  # the tombstone is there, its notice record not yet
    tombstone_delivered.set_result(Metadata(TOPIC, 2, 41))
    await asyncio.sleep(0.01)
    assert not event.acked
    if not refuse:
        ((topic, key, value),) = producer.sent
        decoded = d.rt.codec.decode(value)
        assert isinstance(decoded, Decoded)
        kind, notice = notice_from(decoded.value)
        assert (topic, key) == (d.rt.names.physical(topics.ERASURES), record_key(
            NOTICE, TOPIC, "opaque-key"))  # fmt: skip
        assert (kind, notice.partition, notice.offset, notice.event_id) == (NOTICE, 2, 41, "e-9")
        producer.delivery.set_result(None)
        await asyncio.sleep(0)
    assert event.acked is acked
    assert bool(stopped) is refuse
