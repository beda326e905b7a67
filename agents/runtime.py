"""What the agent needs, built once at start-up: the compiled policy, the codec, the producer."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import faust

from policy.compile import CompiledPolicy
from streams.kafka.names import TopicNames
from streams.settings import Settings
from streams.wire.codec import Codec


@dataclass(frozen=True)
class Outgoing:
    """One record ready for the wire (bytes already encoded), on a logical topic."""

    topic: str
    key: bytes
    value: bytes | None
    headers: list[tuple[str, bytes]]
    dlq_kind: str | None = None
    #: A pseudonymised topic's record: its Kafka timestamp is the day it was sent, not the
    #: millisecond, so that it cannot be joined back to the named records of the same event.
    coarse_time: bool = False


@dataclass
class Runtime:
    settings: Settings
    compiled: CompiledPolicy
    codec: Codec
    app: faust.App
    #: The processing clock (validation refuses events dated too far ahead of it).
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    #: A shadow policy (``worker --shadow-policy``): decides each event too, forwards nothing.
    shadow: CompiledPolicy | None = None
    #: Set when a record could not be finished (an output refused, the registry down): the
    #: worker stops and exits non-zero.
    failure: BaseException | None = None
    names: TopicNames = field(init=False)

    def __post_init__(self) -> None:
        self.names = TopicNames(self.settings)

    async def send(self, records: Iterable[Outgoing], on_delivery: Callable[[Any], None]) -> None:
        """Hand records to the producer in order; ``on_delivery`` gets each record's delivery
        future when the broker has answered. Raises if the producer refuses a record at once
        (the records before it may be on their way; the caller must not ack the input)."""
        send = self.app.producer.send
        today = day_start_s(self.clock())
        for record in records:
            delivery: Any = await send(
                self.names.physical(record.topic),
                record.key,
                record.value,
                None,
                today if record.coarse_time else None,  # seconds (Faust's unit); None: now
                record.headers,
            )
            delivery.add_done_callback(on_delivery)

    def stop_failed(self, error: BaseException) -> None:
        """Stop the worker as SIGTERM does (agents stop, acked offsets are committed, the
        producer is flushed) and make it exit non-zero (``purposegate worker`` reads
        :attr:`failure`). Faust's own ``app.crash`` can hang in its stop path (the consumer's
        final commit waits on services it has already crashed), so the well-trodden path it is.
        """
        if self.failure is None:
            self.failure = error
            os.kill(os.getpid(), signal.SIGTERM)


def day_start_s(now: datetime) -> float:
    """The start of ``now``'s UTC day, in seconds since the epoch.

    >>> day_start_s(datetime(2026, 11, 25, 19, 3, 31, 5, tzinfo=UTC))
    1795564800.0
    """
    return datetime(now.year, now.month, now.day, tzinfo=UTC).timestamp()
