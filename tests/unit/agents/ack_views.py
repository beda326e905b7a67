"""What the tests read of an ack tracker that the worker never asks: how many inputs are in
flight, and which topic-partitions a failure blocks."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeVar

from agents.acks import AckTracker

H = TypeVar("H")


class InspectedAckTracker(AckTracker[H]):
    """An :class:`~agents.acks.AckTracker` the tests can look into."""

    def in_flight(self) -> int:
        """Inputs handed to the producer and not acked yet."""
        return sum(len(queue) for queue in self._queues.values())

    def blocked(self) -> list[Hashable]:
        """Topic-partitions whose front input failed."""
        return [source for source, queue in self._queues.items() if queue and queue[0].failed]
