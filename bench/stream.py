"""The benchmark's input stream: sampled, encoded, produced at full speed or paced."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from broker.clients import producer
from config.settings import Settings
from policy.compile import CompiledPolicy
from wire import Codec
from wire.input_lines import Prepared
from wire.input_lines import prepare as prepare_lines
from wire.sample import sample_lines


def log(text: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {text}", flush=True)


@dataclass(frozen=True)
class Event:
    topic: str  # logical
    key: bytes
    value: bytes
    event_id: str


# -- data -------------------------------------------------------------------------------------


def sample(
    events: int, compiled: CompiledPolicy, codec: Codec, customers: int | None = None
) -> tuple[list[Event], int]:
    """The encoded stream and how many of its events are valid (= audit records expected);
    ``customers``: how many the events are drawn from (default: a tenth of the events)."""
    pool = customers if customers is not None else max(1, events // 10)
    lines = list(sample_lines(seed=42, customers=pool, events=events))
    out: list[Event] = []
    valid = 0
    # the one door (what produce does): every sample line passes it, so every one is valid
    for line, prepared in zip(lines, prepare_lines(lines, codec, compiled), strict=True):
        assert isinstance(prepared, Prepared), prepared
        valid += 1
        event_id = json.loads(line)["value"]["event_id"]
        out.append(Event(prepared.topic, prepared.key, prepared.value, event_id))
    return out, valid


def produce(settings: Settings, events: Sequence[Event]) -> None:
    client = producer(settings, linger_ms=20, batch_size=262_144)
    try:
        for e in events:
            client.send(settings.topic(e.topic), key=e.key, value=e.value)
        client.flush(timeout=120)
    finally:
        client.close()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def send_now(client: Any, settings: Settings, events: Sequence[Event]) -> dict[str, int]:
    sent: dict[str, int] = {}
    for e in events:
        stamp = now_ms()
        client.send(settings.topic(e.topic), key=e.key, value=e.value, timestamp_ms=stamp)
        sent[e.event_id] = stamp
    client.flush(timeout=30)
    return sent


def produce_paced(settings: Settings, events: Sequence[Event], per_s: float) -> dict[str, int]:
    """Send at ``per_s`` (in 5 ms ticks), each record stamped with its send time.

    With aiokafka, not kafka-python: the load generator shares the two cores with the worker
    and the broker, and kafka-python's sender thread cost ~0.25 of a core at 450 records/s
    (py-spy), aiokafka's a fraction of that (its record batches are built in C)."""
    return asyncio.run(_produce_paced(settings, events, per_s))


async def _produce_paced(
    settings: Settings, events: Sequence[Event], per_s: float
) -> dict[str, int]:
    client = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks=-1, linger_ms=1)
    await client.start()
    sent: dict[str, int] = {}
    pending: list[asyncio.Future[Any]] = []
    tick = 0.005
    started = time.monotonic()
    try:
        for i, e in enumerate(events):
            wait = started + i / per_s - time.monotonic()
            if wait > tick:
                await asyncio.sleep(wait)
            stamp = now_ms()
            pending.append(
                await client.send(
                    settings.topic(e.topic), key=e.key, value=e.value, timestamp_ms=stamp
                )
            )
            sent[e.event_id] = stamp
        await asyncio.wait_for(asyncio.gather(*pending), timeout=60)  # raises on a lost record
    finally:
        await client.stop()
    return sent
