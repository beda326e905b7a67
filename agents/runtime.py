"""What the agent needs, built once at start-up: the compiled policy, the codec, the producer."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import faust

from broker.faust_internals import aiokafka_producer
from broker.names import TopicNames
from config.settings import Settings
from policy.compile import CompiledPolicy
from wire.codec import Codec


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

    def aiokafka_producer(self) -> Any:
        """The app's started aiokafka producer (Faust's producer service wraps it); the agent
        hands it batches (``agents.sending``)."""
        return aiokafka_producer(self.app.producer)

    def stop_failed(self, error: BaseException) -> None:
        """Stop the worker as SIGTERM does (agents stop, acked offsets are committed, the
        producer is flushed) and make it exit non-zero (``purposegate worker`` reads
        :attr:`failure`). Faust's own ``app.crash`` can hang in its stop path (the consumer's
        final commit waits on services it has already crashed), so the well-trodden path it is.
        """
        if self.failure is None:
            self.failure = error
            os.kill(os.getpid(), signal.SIGTERM)
