"""What every agent needs, built once at start-up: the compiled policy, the codec, the topics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import faust

from policy.engine import CompiledPolicy
from streams import topics
from streams.avro import Codec
from streams.settings import Settings


@dataclass
class Sinks:
    """Faust topics the pipeline writes, by logical name (created lazily, then cached)."""

    app: faust.App
    settings: Settings
    _by_name: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, logical_name: str) -> Any:
        sink = self._by_name.get(logical_name)
        if sink is None:
            sink = self.app.topic(
                self.settings.topic(logical_name),
                key_serializer="raw",
                value_serializer="raw",
                internal=False,
            )
            self._by_name[logical_name] = sink
        return sink

    @property
    def audit(self) -> Any:
        return self[topics.AUDIT]

    @property
    def dlq(self) -> Any:
        return self[topics.DLQ]


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    compiled: CompiledPolicy
    codec: Codec
    sinks: Sinks
