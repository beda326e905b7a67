"""Faust's table recovery, with the input partitions seeked *before* they are resumed.

The post-rebalance stall (faust-streaming 0.15.3, the same order since 0.8.1; upstream issues
#175, #471, #629 and #640, still open). ``Recovery.on_recovery_completed`` runs after the
changelogs are read, with the fetcher running and the flow already active, and does:

1. ``consumer.resume_partitions(inputs)``: the fetcher starts delivering input records to the
   agents' queues at once;
2. ``await consumer.perform_seek()``: one OffsetFetch round trip per assigned partition (~40
   here), during which records keep arriving; each ``seek`` rewinds the fetch position, and
   ``perform_seek`` finally sets the read offsets back to the committed ones;
3. ``app.flow_control.resume()``: *clears* every ``clear_on_resume`` queue — the records
   delivered in step 2 are dropped, unprocessed and unlogged, while the fetch position is
   past them.

What follows depends on the interleaving: when the backlog was fetched entirely in the window,
nothing more arrives and the worker says "Worker ready" and processes nothing (the stall); when
more records arrive, their offsets are past the read offset, Faust's gap tracking marks the
dropped range as done and the next commit passes records that were never processed (a silent
loss). Apps without tables take ``Recovery._resume_streams``, which seeks while the flow is
still stopped: no window there.

:class:`SeekFirstRecovery` does the same steps in a safe order: input partitions stay paused
(paused again, in case something resumed one) while they are seeked, the queues are cleared
next (they hold only records of the previous assignment), and only then are the partitions
resumed. It also seeks the input partitions that were never committed to their earliest
offset, which Faust does not do: records fetched for them during the rebalance and dropped
(see :meth:`SeekFirstRecovery._seek_inputs`) would otherwise never be read — the same stall,
seen when two workers start together on a backlog. :class:`TableManager` makes Faust build it
(``faust.App(..., TableManager=...)``). The patch for upstream is in ``docs/upstream/``.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from faust.tables.manager import TableManager as FaustTableManager
from faust.tables.recovery import Recovery

from broker.faust_internals import (
    committed_offset,
    end_recovery,
    is_changelog,
    recovery_service,
    start_fetcher,
    wait_or_stop,
)

__all__ = ["SeekFirstRecovery", "TableManager"]


class SeekFirstRecovery(Recovery):  # Faust is untyped (Any to mypy)
    """``Recovery`` whose ``on_recovery_completed`` seeks before resuming the input partitions."""

    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        app: Any = self.app
        consumer = app.consumer
        self.log.info("Restore complete!")
        await app.on_rebalance_complete.send()
        end_recovery(self)
        await self._tables_recovery_completed()
        assignment = consumer.assignment()
        if app.consumer_generation_id != generation_id:
            self.log.warning(
                "Recovery rebalancing again app id %s param %s",
                app.consumer_generation_id,
                generation_id,
            )
            return
        inputs = {tp for tp in assignment if not is_changelog(self, tp)}
        # Upstream resumes `inputs` here, before the seek: the records fetched during the
        # seek are then cleared from the queues by flow_control.resume() below.
        consumer.pause_partitions(inputs)
        if assignment:
            # a fetch begun before the rebalance may still hand over records of these
            # partitions, which Faust drops (paused): it lands before the seek, never after
            await self._fetch_landed(consumer, inputs)
            self.log.info("Seek stream partitions to committed offsets.")
            await self._seek_inputs(consumer, inputs)
        self.completed.set()
        self.log.dev("Resume stream partitions")
        app.flow_control.resume()  # clears the queues: nothing of `inputs` is in them yet
        consumer.resume_partitions(inputs)
        consumer.resume_flow()
        await start_fetcher(app)
        self.tables.on_actives_ready()
        if not app.assignor.assigned_standbys():
            self.tables.on_standbys_ready()
        app.on_rebalance_end()
        self.log.info("Worker ready")

    async def _fetch_landed(self, consumer: Any, inputs: set[Any]) -> None:
        """Until the consumer's fetch in flight, if it asks for any of ``inputs``, has landed
        (``broker.consumer``: a fetch that outlives a rebalance). Faust's own consumer (a test's
        "fix off") has no such wait."""
        landed = getattr(consumer, "fetch_landed", None)
        if landed is not None:
            await wait_or_stop(self, landed(inputs), self.app.conf.broker_request_timeout)

    async def _seek_inputs(self, consumer: Any, inputs: set[Any]) -> None:
        """Every assigned partition to its committed offset (Faust's ``perform_seek``), and
        the input partitions the group never committed to their earliest offset.

        The second half is the other cause of the stall: while the consumer's set of active
        partitions is empty — for a moment during every recovery, when the changelogs are
        paused — aiokafka's ``fetched_records(partitions)`` takes the empty set for "all
        partitions" and hands over the records prefetched for the paused input partitions;
        Faust drops them (not active) and the fetch position is past them. ``perform_seek``
        rewinds only partitions with a committed offset (aiokafka's ``seek_to_committed``
        skips the others), so a partition never committed (a new group on a backlog, or a
        first commit interval not yet over) stays past records nobody processed.
        """
        timeout = self.app.conf.broker_request_timeout
        await wait_or_stop(self, consumer.perform_seek(), timeout)
        # perform_seek keeps None for "never committed" (and for 0).
        never = sorted(tp for tp in inputs if not committed_offset(consumer, tp))
        if never:
            earliest: dict[Any, int] = {}

            async def lookup() -> None:
                earliest.update(await consumer.earliest_offsets(*never))

            await wait_or_stop(self, lookup(), timeout)
            for tp in never:
                await consumer.seek(tp, earliest.get(tp) or 0)

    async def _tables_recovery_completed(self) -> None:
        """Each table's own ``on_recovery_completed`` (as upstream, one task per table)."""
        tasks = [
            asyncio.ensure_future(
                table.on_recovery_completed(
                    self.actives_for_table[table], self.standbys_for_table[table]
                )
            )
            for table in self.tables.values()
        ]
        if tasks:
            await asyncio.wait(tasks)


class TableManager(FaustTableManager):  # Faust is untyped (Any to mypy)
    """Faust's table manager, building :attr:`recovery_class` as its recovery service."""

    #: The recovery service class (a test may put Faust's own back to reproduce the stall).
    recovery_class: ClassVar[type[Recovery]] = SeekFirstRecovery

    @property
    def recovery(self) -> Recovery:
        recovery: Recovery = recovery_service(self, self.recovery_class)
        return recovery
