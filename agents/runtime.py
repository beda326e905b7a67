"""What every agent needs, built once at start-up: the compiled policy, the codec, the producer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import faust

from policy.compile import CompiledPolicy
from streams.kafka.names import TopicNames
from streams.settings import Settings
from streams.wire.codec import Codec

log = logging.getLogger("purposegate.agents")


@dataclass(frozen=True)
class Outgoing:
    """One record ready for the wire (bytes already encoded), on a logical topic."""

    topic: str
    key: bytes
    value: bytes | None
    headers: list[tuple[str, bytes]]
    dlq_kind: str | None = None


@dataclass
class Runtime:
    settings: Settings
    compiled: CompiledPolicy
    codec: Codec
    app: faust.App
    #: The processing clock (validation refuses events dated too far ahead of it).
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    #: Held from decide to the last send of one event, so that the records of different
    #: agents never interleave: a withdrawal's tombstone can never overtake (or be overtaken
    #: by) a record of an event decided before (after) it.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    names: TopicNames = field(init=False)

    def __post_init__(self) -> None:
        self.names = TopicNames(self.settings)

    async def send(self, records: Iterable[Outgoing]) -> None:
        """Hand records to the producer in order (returns once they are in its batches; the
        offset commit flushes the producer first, so an input is committed only after its
        outputs are acknowledged)."""
        send = self.app.producer.send
        for record in records:
            delivery: Any = await send(
                self.names.physical(record.topic),
                record.key,
                record.value,
                None,
                None,
                record.headers,
            )
            delivery.add_done_callback(self._delivered)

    def _delivered(self, delivery: Any) -> None:
        if delivery.cancelled() or delivery.exception() is None:
            return
        # A record the broker refused: stop the worker rather than commit past it; the
        # uncommitted inputs are processed again by the next worker (at-least-once).
        error = delivery.exception()
        log.error("delivery failed (%s); stopping the worker", type(error).__name__)
        asyncio.ensure_future(self.app.crash(error))
