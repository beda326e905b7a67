"""Consumer lag of the worker's consumer group, exported as ``purposegate_consumer_lag``.

Faust has no lag metric of its own, so we ask the broker: for every partition the group has
committed, lag = end offset - committed offset. Partitions the group never committed have no
series (the "no events" alert covers a worker that never gets going).

Collection must never take the worker down: a failure is logged (type only, no record data)
and the last values stay exported until the next success.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final

from kafka import TopicPartition
from kafka.admin import OffsetSpec
from prometheus_client import Gauge

from streams.kafka.clients import admin_client
from streams.kafka.metrics import CONSUMER_LAG
from streams.kafka.names import logical_topic
from streams.settings import Settings

log = logging.getLogger(__name__)

#: (logical topic, partition) -> records behind.
Lags = dict[tuple[str, int], int]

DEFAULT_TIMEOUT_MS: Final = 5_000


def compute_lags(
    committed: Mapping[TopicPartition, int],
    end_offsets: Mapping[TopicPartition, int],
    topic_prefix: str = "",
) -> Lags:
    """End offset - committed offset per partition, never negative (a commit can land after
    the end offsets were read). Topic names lose ``topic_prefix`` so that dashboards read the
    contract's names in every deployment."""
    lags: Lags = {}
    for tp, offset in committed.items():
        end = end_offsets.get(tp)
        if end is None or offset < 0:
            continue
        lags[(logical_topic(tp.topic, topic_prefix), tp.partition)] = max(end - offset, 0)
    return lags


class LagCollector:
    """Reads the group's committed offsets and the partitions' end offsets with one
    kafka-python admin client (created on first use, re-created after a failure)."""

    def __init__(
        self,
        settings: Settings,
        group_id: str,
        *,
        gauge: Gauge = CONSUMER_LAG,
        admin_factory: Callable[[], Any] | None = None,
    ) -> None:
        self._settings = settings
        self._group_id = group_id
        self._gauge = gauge
        self._admin_factory = admin_factory or self._default_admin
        self._admin: Any = None
        self._exported: set[tuple[str, int]] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.failures = 0
        self.last_lags: Lags = {}

    def _default_admin(self) -> Any:
        return admin_client(self._settings, timeout_ms=DEFAULT_TIMEOUT_MS)

    def fetch(self) -> Lags:
        """One blocking round trip to the broker; raises on any failure."""
        if self._admin is None:
            self._admin = self._admin_factory()
        groups = self._admin.list_group_offsets(self._group_id)
        committed = {
            tp: meta.offset
            for tp, meta in groups.get(self._group_id, {}).items()
            if meta.offset >= 0
        }
        if not committed:
            return {}
        ends = self._admin.list_partition_offsets(dict.fromkeys(committed, OffsetSpec.LATEST))
        end_offsets = {tp: result.offset for tp, result in ends.items()}
        return compute_lags(committed, end_offsets, self._settings.topic_prefix)

    def refresh(self) -> bool:
        """Fetch and export; on failure log, keep the last values and return False."""
        with self._lock:
            try:
                lags = self.fetch()
            except Exception as exc:  # metrics must never stop the worker
                self.failures += 1
                log.warning(
                    "consumer lag not refreshed (%s); keeping the last values",
                    type(exc).__name__,
                )
                self._close_admin()
                return False
            self._export(lags)
            return True

    async def refresh_async(self) -> bool:
        """:meth:`refresh` in the default executor, so the event loop never blocks on Kafka."""
        return await asyncio.get_running_loop().run_in_executor(None, self.refresh)

    def _export(self, lags: Lags) -> None:
        for (topic, partition), lag in lags.items():
            self._gauge.labels(topic, str(partition)).set(lag)
        # A partition the group no longer commits (topic deleted, group reset) goes away.
        for gone in self._exported - lags.keys():
            self._gauge.remove(gone[0], str(gone[1]))
        self._exported = set(lags)
        self.last_lags = lags

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
        with self._lock:
            self._close_admin()

    def _close_admin(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            with contextlib.suppress(Exception):  # closing a broken client
                admin.close()
