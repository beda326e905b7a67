"""Consumer lag of the worker's consumer group, exported as ``purposegate_consumer_lag``.

Faust has no lag metric of its own, so we ask the broker: for every partition the group has
committed, lag = end offset - committed offset. A partition of the input topics the group has
never committed counts from its earliest offset (where the worker starts reading it): a backlog
that nothing has touched yet has a series too. The offsets behind the lags stay available
(:attr:`LagCollector.last_offsets`) for the stall watchdog.

Collection must never take the worker down: a failure is logged (type only, no record data)
and the last values stay exported until the next success.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from kafka import TopicPartition
from kafka.admin import OffsetSpec
from prometheus_client import Gauge

from broker.clients import admin_client
from broker.metrics import CONSUMER_LAG
from broker.names import logical_topic
from config.settings import Settings

log = logging.getLogger(__name__)

#: (logical topic, partition) -> records behind.
Lags = dict[tuple[str, int], int]

DEFAULT_TIMEOUT_MS: Final = 5_000


@dataclass(frozen=True)
class PartitionOffsets:
    """What the broker says about one partition and the group."""

    end: int
    #: The group's committed offset; ``None`` when it never committed this partition.
    committed: int | None
    #: The earliest offset: where a partition that was never committed is read from.
    start: int = 0

    @property
    def behind(self) -> int:
        """Records not yet committed, never negative (a commit can land after the end offsets
        were read)."""
        first = self.committed if self.committed is not None else self.start
        return max(self.end - first, 0)


def partition_offsets(
    committed: Mapping[TopicPartition, int],
    end_offsets: Mapping[TopicPartition, int],
    topic_prefix: str = "",
    start_offsets: Mapping[TopicPartition, int] | None = None,
) -> dict[tuple[str, int], PartitionOffsets]:
    """Offsets per (logical topic, partition): every committed partition with a known end, and
    every partition of ``start_offsets`` (the never-committed ones) with a known end."""
    out: dict[tuple[str, int], PartitionOffsets] = {}
    starts = start_offsets or {}
    for tp in {*committed, *starts}:
        end = end_offsets.get(tp)
        offset = committed.get(tp)
        if offset is not None and offset < 0:
            offset = None
        if end is None or (offset is None and tp not in starts):
            continue
        key = (logical_topic(tp.topic, topic_prefix), tp.partition)
        out[key] = PartitionOffsets(end, offset, starts.get(tp, 0))
    return out


class LagCollector:
    """Reads the group's committed offsets and the partitions' end offsets with one
    kafka-python admin client (created on first use, re-created after a failure).

    ``topics`` (logical names, e.g. the input topics) are covered whole: their partitions
    the group never committed get a lag from their earliest offset.
    """

    def __init__(
        self,
        settings: Settings,
        group_id: str,
        *,
        topics: Sequence[str] = (),
        gauge: Gauge = CONSUMER_LAG,
        admin_factory: Callable[[], Any] | None = None,
    ) -> None:
        self._settings = settings
        self._group_id = group_id
        self._topics = [settings.topic(t) for t in topics]
        self._topic_partitions: set[TopicPartition] | None = None
        self._gauge = gauge
        self._admin_factory = admin_factory or self._default_admin
        self._admin: Any = None
        self._exported: set[tuple[str, int]] = set()
        self._lock = threading.Lock()
        self.failures = 0
        self.last_lags: Lags = {}
        #: The offsets of the last successful refresh, and when it was (``time.monotonic()``).
        self.last_offsets: dict[tuple[str, int], PartitionOffsets] = {}
        self.last_success: float | None = None

    def _default_admin(self) -> Any:
        return admin_client(self._settings, timeout_ms=DEFAULT_TIMEOUT_MS)

    def fetch(self) -> dict[tuple[str, int], PartitionOffsets]:
        """A few blocking round trips to the broker; raises on any failure."""
        if self._admin is None:
            self._admin = self._admin_factory()
        groups = self._admin.list_group_offsets(self._group_id)
        committed = {
            tp: meta.offset
            for tp, meta in groups.get(self._group_id, {}).items()
            if meta.offset >= 0
        }
        never = self._partitions_of_topics() - committed.keys()
        wanted = {
            **dict.fromkeys(committed, OffsetSpec.LATEST),
            **dict.fromkeys(never, OffsetSpec.LATEST),
        }
        if not wanted:
            return {}
        ends = self._admin.list_partition_offsets(wanted)
        starts = {}
        if never:
            earliest = self._admin.list_partition_offsets(dict.fromkeys(never, OffsetSpec.EARLIEST))
            starts = {tp: result.offset for tp, result in earliest.items()}
        end_offsets = {tp: result.offset for tp, result in ends.items()}
        return partition_offsets(committed, end_offsets, self._settings.topic_prefix, starts)

    def _partitions_of_topics(self) -> set[TopicPartition]:
        """Every partition of ``topics`` that exists (described once)."""
        if self._topic_partitions is None:
            found: set[TopicPartition] = set()
            if self._topics:
                for topic in self._admin.describe_topics(self._topics):
                    found.update(
                        TopicPartition(topic["name"], p["partition_index"])
                        for p in topic["partitions"]
                    )
            if {tp.topic for tp in found} != set(self._topics):
                return found  # a topic not created yet: described again next time
            self._topic_partitions = found
        return self._topic_partitions

    def refresh(self) -> bool:
        """Fetch and export; on failure log, keep the last values and return False."""
        with self._lock:
            try:
                offsets = self.fetch()
            except Exception as exc:  # metrics must never stop the worker
                self.failures += 1
                log.warning(
                    "consumer lag not refreshed (%s); keeping the last values",
                    type(exc).__name__,
                )
                self._close_admin()
                return False
            self.last_offsets = offsets
            self.last_success = time.monotonic()
            self._export({key: value.behind for key, value in offsets.items()})
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

    def close(self) -> None:
        """Close the admin client (a later ``fetch`` or ``refresh`` opens a new one)."""
        with self._lock:
            self._close_admin()

    def _close_admin(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            with contextlib.suppress(Exception):  # closing a broken client
                admin.close()
