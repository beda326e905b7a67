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

The commit path, too. Faust commits a topic-partition up to the first offset not acked, with
two slacks (``Consumer._new_offset``): one missing offset at the head is let through (meant for
a transaction marker at the committed position), and a committed offset of 0 skips that head
check altogether (it tests ``if committed_offset:``). So when a record handed to the agent is
never acked and the one after it is — a record dropped between the fetch and the agent, as in
the stall's first cause — the next commit passes it: a lost withdrawal, or a record of provision
never written. :class:`SnapshotConsumer` keeps, per input partition, the offsets handed to the
agent and not yet acked (:meth:`~SnapshotConsumer.note_handed`), and never commits past one;
a committed offset of 0 gets Faust's head check as any other does.

A third path to the stall, found in a two-worker CI run (issue 23): a fetch that outlives a
rebalance. aiokafka's ``fetched_records`` waits for the *next* assignment when one is in
progress, with no bound, and then hands over what it finds for the partitions it was asked for
— asked for under the old assignment. A fetch begun just before a rebalance thus returns records
of the new one, fetched from the positions aiokafka set itself, after Faust's recovery paused the
input partitions; Faust drops them (not active) and the positions are past them. When that
lands before the recovery's seek, the seek rewinds; when it lands after (the seek is one round
trip per partition), the partition is never read again: seen as ``consents[4]`` fetched to 88,
read and committed 44, until the watchdog stopped the worker. :class:`SnapshotConsumer` keeps the
partitions of the fetch in flight (:meth:`~SnapshotConsumer.fetch_landed`), and the recovery
(``broker.recovery``) waits for it to land before it seeks. Faust also puts a partition back
in its active set when its agent's queue drains (``on_buffer_drop``) even while the partition
is paused for a rebalance, which lets such a fetch ask for it: here a paused partition stays
paused until whoever paused it resumes it, and a revoked partition is no longer "buffered".
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet
from typing import Any, ClassVar

from aiokafka import TopicPartition
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from broker.faust_internals import fetch_position, getmany, set_fetch_max_wait, thread_consumer

__all__ = ["SnapshotConsumer", "Transport"]

#: How long a fetch waits when every active partition is held back (seconds): the merge
#: releases records meanwhile, and the next fetch asks again.
ALL_HELD_BACK_PAUSE_S = 0.02
#: A fetch's longest wait for records while some partitions are held back (seconds).
HELD_BACK_FETCH_TIMEOUT_S = 0.1


class ShortPollConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):  # Faust is untyped
    """Faust's consumer thread with a shorter fetch long-poll. Faust fixes aiokafka's
    ``fetch_max_wait_ms`` at 1,500 ms, and aiokafka sends a node no new fetch while one is in
    flight: a partition the merge waits for, whose records are not in aiokafka's buffer yet,
    waited up to 1.5 s per fetch behind a request for partitions with nothing new."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        set_fetch_max_wait(consumer, transport.fetch_max_wait_ms)
        return consumer


class SnapshotConsumer(faust_aiokafka.Consumer):  # Faust is untyped (Any to mypy)
    """Faust's aiokafka consumer whose fetches name a copy of the active partitions, less the
    partitions the event-time merge holds back (:attr:`held_back`: the merge's fetch plan,
    ``agents.merge.Merger.fetch_plan``). Holding
    back is not Faust's pause: it changes neither Faust's active nor its paused set, so a
    rebalance's recovery, which pauses and resumes partitions itself, never meets it; the
    records of a held-back partition wait in aiokafka's buffer (one fetch response at most),
    and the fetch brings the partitions the merge needs."""

    #: Input partitions not to fetch now (set by the agent; empty after a rebalance).
    held_back: frozenset[TP] = frozenset()

    #: Where the records of the input topics go, one fetched batch at a time (``agents.inputs``:
    #: the agent takes them); None: Faust's path, record by record through its conductor and
    #: the agent's stream.
    input_sink: Callable[[list[Any]], Awaitable[None]] | None = None
    #: The physical input topics whose records go to :attr:`input_sink`.
    input_topics: frozenset[str] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Per partition, the offset of the last record aiokafka handed over: records past
        #: the merge's last read up to it are in transit (never a control marker).
        self.handed_over: dict[TP, int] = {}
        #: Per partition, aiokafka's position when its last fetch returned (what it had handed
        #: over, control markers included); unknown before one returned since the last seek.
        self.handed_position: dict[TP, int] = {}
        #: Per input partition, the offsets of records handed to the agent and not acked yet
        #: (:meth:`note_handed`): no commit passes one (:meth:`_new_offset`).
        self.unfinished: dict[TP, set[int]] = {}
        #: The partitions of the fetch in flight (empty: none), and when it lands.
        self._fetching: AbstractSet[TP] = frozenset()
        self._fetch_landed = asyncio.Event()
        self._fetch_landed.set()

    async def _drain_messages(self, fetcher: Any) -> None:
        """Faust's fetch loop (``Consumer._drain_messages``, faust-streaming 0.15.3), with the
        input records of each fetch handed to :attr:`input_sink` as one batch instead of one by
        one through Faust's conductor, the agent's queue and its stream (four tasks and a queue
        per record). What Faust does per record is kept: its filter of partitions no longer
        active, its read offsets (a record before one is dropped: read already), its gaps, its
        "stop handing over when the flow stops or the generation changes"; the records of
        other topics (the changelog) take Faust's own per-record path."""
        sink = self.input_sink
        if sink is None:
            await super()._drain_messages(fetcher)
            return
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                self.diag.set_flag(CONSUMER_FETCHING)
                records, active = await self._wait_next_records(1.0)
                await asyncio.sleep(0)
                if records and not self.should_stop and self.flow_active:
                    await self._hand_over(records, active, sink)
                self.diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)

    async def _hand_over(
        self, records: Any, active: set[TP] | None, sink: Callable[[list[Any]], Awaitable[None]]
    ) -> None:
        """One fetch's records: the input ones to ``sink`` at once, the others one by one to
        Faust's conductor."""
        app = self.app
        generation = app.consumer_generation_id
        buffered = self._buffered_partitions
        track_end = app.monitor.track_tp_end_offset
        batch: list[Any] = []
        for tp, fetched in records.items():
            if active is not None and tp not in active and tp not in buffered:
                continue  # paused meanwhile (a rebalance): its recovery seeks it again
            track_end(tp, self.highwater(tp))
            if tp.topic in self.input_topics:
                await self._take_unread(tp, fetched, batch)
                continue
            for record in fetched:
                if not self.flow_active or app.consumer_generation_id != generation:
                    return
                await self._deliver(tp, self._to_message(tp, record))
        if not batch or not self.flow_active or app.consumer_generation_id != generation:
            return  # a rebalance began: its recovery seeks these partitions again
        await self.wait_first(sink(batch), self.suspend_flow.wait())
        await self._maybe_commit_every()

    async def _take_unread(self, tp: TP, fetched: list[Any], batch: list[Any]) -> None:
        """Append the records of ``fetched`` not read yet to ``batch``, as Faust's loop takes
        them: a record before the read offset is dropped, a jump past it is a gap."""
        acks = self.app.topics.acks_enabled_for(tp.topic)
        to_message = self._to_message
        read = self._read_offset[tp]
        for record in fetched:
            offset = record.offset
            gap_from = _unread_from(read, offset)
            if gap_from is None:
                continue
            if gap_from < offset and acks:
                await self._add_gap(tp, gap_from, offset)
            batch.append(to_message(tp, record))
            read = offset
        self._read_offset[tp] = read

    async def _deliver(self, tp: TP, message: Any) -> None:
        """Faust's per-record hand-over of one record (its loop's body)."""
        offset = message.offset
        gap_from = _unread_from(self._read_offset[tp], offset)
        if gap_from is None:
            return
        if gap_from < offset and self.app.topics.acks_enabled_for(tp.topic):
            await self._add_gap(tp, gap_from, offset)
        await self._maybe_commit_every()
        await self.wait_first(self.callback(message), self.suspend_flow.wait())
        self._read_offset[tp] = offset

    async def _maybe_commit_every(self) -> None:
        """Faust's ``broker_commit_every``: a commit after that many acks."""
        commit_every = self._commit_every
        if commit_every is not None and self._n_acked >= commit_every:
            self._n_acked = 0
            await self.commit()

    def _new_consumer_thread(self) -> Any:
        return ShortPollConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _getmany(self, active_partitions: Any, timeout: float) -> Any:
        if active_partitions is None:
            return await getmany(self, None, timeout)
        snapshot = set(active_partitions)  # a copy
        if self.held_back:
            snapshot.difference_update(self.held_back)
            if not snapshot:  # aiokafka reads an empty set as "every partition"
                await asyncio.sleep(min(timeout, ALL_HELD_BACK_PAUSE_S))
                return {}
            # a partition released from the plan meanwhile waits at most this long
            timeout = min(timeout, HELD_BACK_FETCH_TIMEOUT_S)
        self._fetching = snapshot  # already this fetch's own copy
        self._fetch_landed.clear()
        try:
            records = await getmany(self, snapshot, timeout)
        finally:
            self._fetching = frozenset()
            self._fetch_landed.set()
        # aiokafka moves a position in its own thread as it takes the records out of its
        # buffer, before they reach this one: read the positions with the records in hand
        # (no other fetch moves them until the next call), never while a fetch hands over
        positions = self.handed_position
        for tp in snapshot:
            position = self.fetch_position(tp)
            if position is None:
                positions.pop(tp, None)
            else:
                positions[tp] = position
        handed = self.handed_over
        for tp, fetched in records.items():
            if fetched:
                handed[tp] = fetched[-1].offset
        return records

    async def fetch_landed(self, partitions: set[TP]) -> None:
        """Until no fetch asking for any of ``partitions`` is in flight: a fetch begun before a
        rebalance can hand over records of the new assignment (module docstring); once it has
        landed, a seek of these partitions is the last word on where they are read from."""
        while not self._fetching.isdisjoint(partitions):
            await self._fetch_landed.wait()

    def on_buffer_drop(self, tp: TP) -> None:
        """Faust's "the agent's queue for ``tp`` drained": fetch ``tp`` again, unless it is
        paused (a rebalance): then it stays paused, and whoever paused it resumes it."""
        if tp in self._paused_partitions:
            self._buffered_partitions.discard(tp)
            return
        super().on_buffer_drop(tp)

    def note_handed(self, message: Any) -> None:
        """The agent took ``message`` off its stream: until it is acked, no commit of its
        topic-partition passes its offset (a record read again after a rebalance is the same
        offset: whichever reading is acked first finishes it, its outputs delivered)."""
        self.unfinished.setdefault(message.tp, set()).add(message.offset)

    def ack(self, message: Any) -> bool:
        acked: bool = super().ack(message)
        unfinished = self.unfinished.get(message.tp)
        if unfinished is not None:
            unfinished.discard(message.offset)
        return acked

    def _new_offset(self, tp: TP) -> int | None:
        """Faust's next offset to commit for ``tp``, never past a record handed to the agent and
        not acked, and with the head check for a committed offset of 0 too (module docstring)."""
        acked = self._acked[tp]
        committed = self._committed_offset[tp]
        if acked and committed == 0 and min(acked) > 1:
            return None  # Faust's own check (``min(acked) - committed > 1``) skips a 0
        unfinished = self.unfinished.get(tp)
        if committed is not None and unfinished:
            unfinished.difference_update([o for o in unfinished if o < committed])
        if not unfinished:
            new_offset: int | None = super()._new_offset(tp)
            return new_offset
        floor = min(unfinished)
        # hide the acked offsets at and after the unfinished record from Faust's reckoning;
        # they stay acked and count once it is done
        later = [offset for offset in acked if offset >= floor]
        if later:
            acked[:] = [offset for offset in acked if offset < floor]
        try:
            proposed: int | None = super()._new_offset(tp)
        finally:
            if later:
                acked.extend(later)
                acked.sort()
        if proposed is None:
            return None
        if proposed <= floor:
            return proposed
        # a gap Faust took for missing offsets covers a record it handed over: stop before it
        return floor if committed is None or floor > committed else None

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self.held_back = frozenset()  # the agent applies a new plan for the new assignment
        self.handed_over.clear()
        self.handed_position.clear()
        self.unfinished.clear()  # Faust seeks what it is given again to the committed offset
        self._buffered_partitions.difference_update(revoked)  # Faust keeps them for ever
        await super().on_partitions_revoked(revoked)

    def fetch_position(self, tp: TP) -> int | None:
        """aiokafka's position for ``tp``: the offset of the next record it will hand over
        (records fetched and still in its buffer are before it); None when unknown or not
        assigned. Read from aiokafka's subscription state as Faust's own ``verify_event_path``
        does (aiokafka 0.14.0; its public ``position()`` is a coroutine of the consumer's
        thread)."""
        try:
            position = fetch_position(thread_consumer(self), TopicPartition(tp.topic, tp.partition))
        except Exception:  # noqa: BLE001 - not started, or no assignment (a rebalance)
            return None
        return position


class Transport(faust_aiokafka.Transport):  # Faust is untyped (Any to mypy)
    """Faust's aiokafka transport, building :class:`SnapshotConsumer`."""

    Consumer: ClassVar[Any] = SnapshotConsumer
    #: The fetch long-poll (``PURPOSEGATE_FETCH_MAX_WAIT_MS``; :class:`ShortPollConsumerThread`).
    fetch_max_wait_ms: int = 100


def _unread_from(read: int | None, offset: int) -> int | None:
    """Faust's per-record rule against a partition's read offset ``read``: None when the record
    at ``offset`` was read already; else the first offset of the gap before it (``offset``
    itself when there is none; Faust sees no gap after a read offset of 0).

    >>> _unread_from(5, 4), _unread_from(5, 6), _unread_from(5, 9), _unread_from(0, 3)
    (None, 6, 6, 3)
    """
    if read is not None and offset < read:
        return None
    return read + 1 if read and offset - read > 1 else offset
