"""Faust's aiokafka consumer, asking aiokafka for records of a *snapshot* of its active partitions.

The second half of the post-rebalance stall (see ``recovery.py`` for the first). Faust's fetcher
passes its live set of active partitions to aiokafka's ``fetched_records``, which waits up to a
second for records and re-reads that set on every pass. During a recovery the set is emptied
for a moment — the changelog partitions are paused when they have been read, the input
partitions are resumed only after the seek — and aiokafka takes an empty set for "every
partition": it hands over the records it prefetched for the paused input partitions. Faust
then drops every record whose partition is not active (its filter reads the same live set, still
empty), and aiokafka's position is past them: those partitions are never read again until the
next rebalance, nothing is committed for them and nothing is logged. Seen as "Worker ready",
then some input partitions (those prefetched in that window) never processed, with
``position == highwater`` and Faust's read offset equal to the committed one.

:class:`SnapshotConsumer` passes a copy: a fetch asks for exactly the partitions that
were active when it began, never for "all"; the records of a partition paused meanwhile stay in
aiokafka's buffer (or, when Faust drops them as inactive, their partition was paused for a
rebalance, and the recovery seeks it back). Upstream: the same code in every faust-streaming
release since 0.8.1; issues #175, #471, #629, #640; the patch is in ``docs/upstream/``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from faust.transport.drivers import aiokafka as faust_aiokafka

__all__ = ["SnapshotConsumer", "Transport"]


class SnapshotConsumer(faust_aiokafka.Consumer):  # Faust is untyped (Any to mypy)
    """Faust's aiokafka consumer whose fetches name a copy of the active partitions."""

    async def _getmany(self, active_partitions: Any, timeout: float) -> Any:
        snapshot = None if active_partitions is None else set(active_partitions)  # a copy
        return await self._thread.getmany(snapshot, timeout)


class Transport(faust_aiokafka.Transport):  # Faust is untyped (Any to mypy)
    """Faust's aiokafka transport, building :class:`SnapshotConsumer`."""

    Consumer: ClassVar[Any] = SnapshotConsumer
