"""The benchmark's input stream: sampled, encoded, produced at full speed or paced."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from policy.compile import CompiledPolicy
from policy.validation import InputEvent, validate
from streams.kafka.clients import producer
from streams.settings import Settings
from streams.tools.sample import sample_lines
from streams.wire import Codec
from streams.wire.input_lines import Prepared
from streams.wire.input_lines import prepare as prepare_lines


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
    for line, prepared in zip(lines, prepare_lines(lines, codec, compiled.policy), strict=True):
        assert isinstance(prepared, Prepared), prepared
        document = json.loads(line)
        checked = validate(document["topic"], document["value"], compiled, datetime.now(UTC))
        if isinstance(checked, InputEvent):
            valid += 1
        out.append(
            Event(prepared.topic, prepared.key, prepared.value, document["value"]["event_id"])
        )
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
    """Send at ``per_s`` (in 5 ms ticks), each record stamped with its send time."""
    client = producer(settings, linger_ms=1)
    sent: dict[str, int] = {}
    tick = 0.005
    started = time.monotonic()
    try:
        for i, e in enumerate(events):
            due = started + i / per_s
            wait = due - time.monotonic()
            if wait > tick:
                time.sleep(wait)
            stamp = now_ms()
            client.send(settings.topic(e.topic), key=e.key, value=e.value, timestamp_ms=stamp)
            sent[e.event_id] = stamp
        client.flush(timeout=60)
    finally:
        client.close()
    return sent
