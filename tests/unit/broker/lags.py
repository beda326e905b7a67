"""Consumer lag as the tests read it: lags computed from offsets alone, and a collector that
refreshes in a thread of its own (the worker refreshes on Faust's timer instead)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from kafka import TopicPartition

from broker.lag import DEFAULT_TIMEOUT_MS, LagCollector, Lags, partition_offsets


def compute_lags(
    committed: Mapping[TopicPartition, int],
    end_offsets: Mapping[TopicPartition, int],
    topic_prefix: str = "",
    start_offsets: Mapping[TopicPartition, int] | None = None,
) -> Lags:
    """End offset - committed offset per partition (from the earliest offset for a partition
    of ``start_offsets`` the group never committed). Topic names lose ``topic_prefix`` so that
    dashboards read the contract's names in every deployment."""
    offsets = partition_offsets(committed, end_offsets, topic_prefix, start_offsets)
    return {key: value.behind for key, value in offsets.items()}


class ThreadedLagCollector(LagCollector):
    """A :class:`~broker.lag.LagCollector` that refreshes in a daemon thread."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start_thread(self, interval_s: float) -> None:
        """Refresh every ``interval_s`` seconds in a daemon thread (outside Faust)."""
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                self.refresh()
                self._stop.wait(interval_s)

        self._thread = threading.Thread(target=loop, name="purposegate-lag", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=DEFAULT_TIMEOUT_MS / 1000 + 1)
            self._thread = None
        self.close()
