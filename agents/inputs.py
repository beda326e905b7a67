"""The worker's one agent: all five input topics, merged in event time, decided one by one.

One Faust agent (concurrency 1) reads the five co-partitioned input topics with acks disabled.
Inside it two coroutines share one :class:`~agents.merge.Merger`:

- the *reader*: the consumer's fetch loop hands each fetch's input records over as one batch
  (:meth:`InputsAgent.take`, ``broker.consumer.SnapshotConsumer.input_sink``; Faust's own
  consumer sends them one by one through the agent's stream instead, to :meth:`_hold`); each
  record is checked once (``flow.path.check``: decode, validate) and added to the merger; the
  reader pauses while the merger holds ``merge_max_buffered`` records and no partition waits
  for an input (a safety net: the fetch plan below bounds what is held);
- the *decider* pops the records that can go, in decision order (``event_time``, tie rank; at
  most ``decide_batch_max`` at a time), decides them one after the other
  (``flow.path.records_for`` with the flow's ``Decider`` on the consent table: each sees the
  state the one before it left), then hands all their records to the producer at once
  (:mod:`agents.sending`: appended to the open batch of each output topic-partition, in
  decision order) and registers their deliveries; the consent table's changelog records of
  the run follow once those outputs are delivered (:mod:`agents.state_after_outputs`), with
  one stream mark per partition the run decided (``agents.consent_table.StreamMark``: a worker
  that takes the partition next decides with the stream time this one had).

The fetch serves the merge: an input topic-partition whose FIFO in the merger reaches
``merge_partition_buffer`` records is not fetched until it is down to half
and while a partition waits for records on the broker only the awaited inputs are fetched
(:meth:`~agents.merge.Merger.fetch_plan`, applied to the consumer by
:meth:`~agents.input_offsets.InputOffsets.apply`), so the fetch brings what the merge waits for
instead of more of what it already holds, and memory stays bounded while catching up.

Ordering holds without a lock: only the decider decides and sends, and it hands a run's
records over, in decision order, before it decides the next run; records of one key go to
one partition of each output topic and the producer keeps per-partition order. So a
withdrawal's tombstone follows every record of that customer forwarded before it.

Acks: a record is acked only when everything it produced is delivered, and in offset order per
input topic-partition (:mod:`agents.delivery`); records held in the merger are never acked, so
a commit never passes one. A record that cannot be delivered stops the worker (exit 3) without
committing past it; the next worker reads it again. An input whose records the broker refused
for ever ``delivery_attempts`` times goes to the DLQ instead, its state change kept
(:mod:`agents.refusals`).

A rebalance drops everything the merger holds: Faust seeks every assigned partition back to its
committed offset when the rebalance completes, so those records are read again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from datetime import datetime
from typing import Any

import faust
from faust.events import Event

from agents.acks import Ticket
from agents.consent_table import DeferredWrite, FaustStates, StreamMark
from agents.delivery import Deliveries, forget_in_progress
from agents.input_offsets import InputOffsets
from agents.merge import Entry, Merger, Released, Wait
from agents.refusals import (
    DELIVERY_REFUSED,
    Collected,
    HeldTopic,
    Refusal,
    RefusalCounter,
    Refusals,
    held_refusal,
    in_place_of,
    refusal_error,
)
from agents.runtime import Runtime
from agents.sending import BatchSender
from agents.state_after_outputs import ChangelogAfterOutputs
from broker import metrics
from broker.faust_internals import deciding
from flow.path import Decider, Outgoing, Read, check, dead_letter, records_for
from policy import topics
from wire.deadletter import PipelineFault

log = logging.getLogger("purposegate.agents")

CONSENT_TABLE = "consent-state"
#: How often an idle decider looks whether a rebalance suspended the flow (seconds).
SUSPENDED_POLL_S = 0.1


class InputsAgent:
    """The reader and the decider of the one agent (see the module docstring)."""

    def __init__(self, rt: Runtime, table: Any) -> None:
        settings = rt.settings
        self.rt = rt
        self.states = FaustStates(table)
        self.decider: Decider[DeferredWrite] = Decider(rt.compiled, self.states, rt.shadow)
        self.offsets = InputOffsets(rt.app, rt.names)
        self.merger: Merger[Any] = Merger(
            topics.INPUT_TOPICS,
            settings.merge_idle_ms / 1000,
            settings.merge_max_wait_ms / 1000,
            fifo_high=settings.merge_partition_buffer,
        )
        self.deliveries = Deliveries(rt)
        self.deliveries.refusals = RefusalCounter(
            self.states.refusals,
            self.states.write_now,
            self._send_now,
            rt.names.logical,
            self.states.changelog_topic,
            self._assigned_partitions,
            lambda: rt.clock().timestamp(),
        )
        self.max_buffered = settings.merge_max_buffered
        self.batch_max = settings.decide_batch_max
        self.coalesce_s = settings.decide_coalesce_ms / 1000
        self.sender: BatchSender[Ticket[Any]] = BatchSender(
            rt.aiokafka_producer, rt.names, self.deliveries.notice_sent
        )
        self.changelog: ChangelogAfterOutputs[Ticket[Any]] = ChangelogAfterOutputs(
            self._send_changelog, self._changelog_failed
        )
        self._arrived = asyncio.Event()
        self._room = asyncio.Event()
        self._generation: int | None = None
        #: Partition numbers deciding without waiting for a lagging input (idle bound out).
        self._enforcing: set[int] = set()
        #: Per partition decided since the last drop: its stream mark, read from the table on
        #: the first record and moved on by each one decided (written once per run,
        #: :meth:`_mark_run`).
        self._marks: dict[int, StreamMark] = {}
        #: Per partition decided in the current run, the ticket its mark write counts for.
        self._marked: dict[int, Ticket[Any]] = {}
        #: Per partition decided since the last drop: its refusal counts (``agents.refusals``).
        self._refusals: dict[int, Refusals] = {}
        #: Why a batch from the fetch loop could not be read (:meth:`take`): the worker stops.
        self._read_failed: Exception | None = None

    async def run(self, stream: Any) -> None:
        """The agent body: read and decide until the worker stops. The consumer's fetch loop
        hands the input records over in batches (:meth:`take`); the stream, iterated all the
        same (it subscribes the input topics), carries them one by one only for a consumer
        without that door."""
        self._drop("agent (re)started")
        reader = asyncio.ensure_future(self._read(stream.noack()))
        try:
            await self._decide_all(reader)
            reader.result()  # the stream ended (the worker stops), or the reader failed
        except Exception as exc:  # noqa: BLE001 - a fault outside any one record
            self.deliveries.fatal(exc)  # stop rather than skip: nothing held is acked
        finally:
            reader.cancel()
            self._drop("agent stopped")
        if self.deliveries.failed:
            # Returning would let Faust's supervisor restart the agent on the same stream:
            # decide nothing more; the stop cancels this (or did already, if an await
            # swallowed the cancellation: then it is not waited for again).
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError
            await asyncio.Event().wait()

    async def _read(self, stream: Any) -> None:
        try:
            async for event in stream.events():
                self._hold(event)
                del event  # the merger alone holds it, so that a drop lets it go
                while len(self.merger) >= self.max_buffered and not self.merger.waiting():
                    self._room.clear()
                    await self._room.wait()
        finally:
            self._arrived.set()  # the decider notices that the reader stopped

    async def take(self, messages: list[Any]) -> None:
        """A fetched batch of input records from the consumer's fetch loop
        (``broker.consumer.SnapshotConsumer.input_sink``): each taken as :meth:`_hold` takes a
        record from the stream; then, while the merger is full and waits for no input, the
        fetch loop waits (a rebalance interrupts it)."""
        if self._read_failed is not None or self.deliveries.failed:
            return  # the worker stops: nothing more is taken, nor acked (read again)
        app = self.rt.app
        in_progress = app.consumer.unacked
        now = time.monotonic()
        for message in messages:
            message.incref()  # one reader: its ack is the final one
            in_progress.add(message)  # Faust waits for it before a rebalance goes on
            event = Event(app, message.key, message.value, message.headers, message)
            try:
                self._admit(event, now)
            except Exception as exc:  # noqa: BLE001 - an outage (the registry): the worker stops
                self._read_failed = exc  # the decider raises it
                self._arrived.set()
                return
        self._admitted(messages, now)
        while len(self.merger) >= self.max_buffered and not self.merger.waiting():
            self._room.clear()
            await self._room.wait()

    def _hold(self, event: Any) -> None:
        """A record from the agent's stream (Faust's per-record path: a consumer without
        :meth:`take`)."""
        now = time.monotonic()
        self._admit(event, now)
        self._admitted([event.message], now)

    def _admit(self, event: Any, now: float) -> None:
        """Check a record once and hold it in the merger (it is in Faust's records in progress;
        a record that cannot be checked is taken out of them and the error raised)."""
        message = event.message
        if message.generation_id != self._generation:
            self._drop("rebalance")
            self._generation = message.generation_id
        try:
            read = check(self.rt, message)
        except Exception:  # an outage (the registry): the worker stops; this record is not acked
            forget_in_progress(self.rt.app, [message])  # nor waited for at the stop
            raise
        self.offsets.note_handed(message)  # no commit passes it until it is acked
        entry = Entry(message.offset, read.order, (event, read))
        self.merger.add(read.source, message.partition, entry, now)

    def _admitted(self, messages: list[Any], now: float) -> None:
        """After records were held: the fetch plan, Faust's inbound times, the decider woken."""
        self._apply_fetch_plan()
        # what Faust's "stream has not started processing" check reads (our sensor skips it)
        inbound = self.rt.app.monitor.stream_inbound_time
        for message in messages:
            inbound[message.tp] = now
        self._arrived.set()

    def _apply_fetch_plan(self) -> None:
        plan = self.merger.fetch_plan()
        if plan is not None:
            self.offsets.apply(plan)

    async def _decide_all(self, reader: asyncio.Future[None]) -> None:
        while not reader.done() and not self.deliveries.failed:
            if self._read_failed is not None:
                raise self._read_failed
            until = await self._decide_next()
            if until is not None:
                await self._wait(until)

    async def _decide_next(self) -> float | None:
        """Decide the next run of records in decision order (at most ``decide_batch_max``);
        or the time to wait until (``inf``: until a record arrives)."""
        if not self._flowing():
            self._drop("rebalance in progress")
            return time.monotonic() + SUSPENDED_POLL_S
        outcome = self.merger.pop_many(time.monotonic(), self.offsets.lagging, self.batch_max)
        self._apply_fetch_plan()
        self._room.set()  # records left, or a partition waits: the reader may go on
        if isinstance(outcome, Wait):
            return math.inf if outcome.until is None else outcome.until
        generation = self.rt.app.consumer_generation_id
        if any(released.entry.item[0].message.generation_id != generation for released in outcome):
            # read again, with the rest
            forget_in_progress(self.rt.app, (r.entry.item[0].message for r in outcome))
            self._drop("rebalance")
            return None
        await self._decide(outcome)
        await asyncio.sleep(0)  # let the reader (and Faust's fetcher) run between batches
        return None

    async def _wait(self, until: float) -> None:
        """Until a record arrives or ``until``; at most a short while, to notice a rebalance."""
        self._arrived.clear()
        timeout = min(max(until - time.monotonic(), 0.0), SUSPENDED_POLL_S)
        # asyncio.timeout, not wait_for: in Python 3.11 wait_for swallows a cancellation that
        # comes as the event is set, and the stop then waits for this agent for ever
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._arrived.wait()
        if self._arrived.is_set() and self.coalesce_s > 0 and self.merger.waiting():
            # Records are on their way (a partition waits for one): let the reader take in
            # what Faust has fetched, so that the next run is long, not one record.
            await asyncio.sleep(self.coalesce_s)

    async def _decide(self, batch: list[Released[Any]]) -> None:
        """Decide a run of records one after the other, then hand all their records to the
        producer at once (one batch per output topic-partition, in this order)."""
        started = time.perf_counter()
        outgoing: list[tuple[Outgoing, Ticket[Any]]] = []
        tickets: list[Ticket[Any]] = []
        for index, released in enumerate(batch):
            try:
                ticket, records = self._decide_one(released)
            except Exception:  # a fault outside any one record (the table): the worker stops
                self._marked.clear()
                self.states.drop_deferred()
                for decided in tickets:
                    self.deliveries.fail(decided, None)
                forget_in_progress(self.rt.app, (r.entry.item[0].message for r in batch[index:]))
                raise
            tickets.append(ticket)
            outgoing.extend((record, ticket) for record in records)
        self._mark_run()
        changelog = self.states.take_deferred()
        try:
            now_s = self.rt.clock().timestamp()
            sent = await self.sender.send(outgoing, self.deliveries.batch_delivered, now_s)
        except Exception as exc:  # noqa: BLE001 - never acked; the worker stops
            self.changelog.close(changelog)
            for ticket in tickets:
                self.deliveries.fail(ticket, exc)
            return
        # the state of these decisions goes once their outputs (and notices) are delivered
        self.changelog.after([*sent, *self.deliveries.take_notices()], changelog)
        for record, ticket in outgoing:
            if record.dlq_kind is not None:
                topic = ticket.handle.message.topic
                metrics.observe_dlq(self.rt.names.logical(topic), record.dlq_kind)
        metrics.observe_processing(time.perf_counter() - started, len(batch))
        count_decided = getattr(self.rt.app.monitor, "count_decided", None)
        if count_decided is not None:  # Faust's sensor, off the per-event path
            count_decided(len(batch))

    async def _send_now(self, record: Outgoing) -> asyncio.Future[Any]:
        """Hand a consent-table changelog record to the producer now (a refusal count)."""
        producer = self.rt.aiokafka_producer()
        sent: asyncio.Future[Any] = await producer.send(
            record.topic, record.value, key=record.key, partition=record.partition
        )
        return sent

    async def _send_changelog(
        self, writes: list[tuple[Outgoing, Ticket[Any]]]
    ) -> list[asyncio.Future[Any]]:
        return await self.sender.send(writes, self.deliveries.batch_delivered, 0.0)

    def _changelog_failed(self, owners: list[Ticket[Any]], error: BaseException | None) -> None:
        for ticket in dict.fromkeys(owners):
            self.deliveries.fail(ticket, error)

    def _decide_one(self, released: Released[Any]) -> tuple[Ticket[Any], list[Outgoing]]:
        """Decide one record (its state written); its ticket and its records to send."""
        event, read = released.entry.item
        message = event.message
        self._note_enforced(released)
        stream_time = self._stream_time(released, read.source, message.offset)
        refusal = self._refused(released.partition, read.source, message.offset)
        held = self._held(released.partition)
        # counted once it is known not to go to the DLQ (the DLQ record is counted)
        counts = metrics if refusal is None and not held else Collected()
        with deciding(event):
            records, writes = records_for(self.rt, self.decider, read, stream_time, counts)
        if refusal is None and held:
            refusal = held_refusal(records, held)
        if refusal is not None:
            records = self._dead_lettered(read, released.partition, refusal, records, writes)
        elif isinstance(counts, Collected):
            counts.replay(metrics)
        source = (message.topic, message.partition)
        ticket = self.deliveries.acks.track(source, event, len(records) + len(writes))
        for write in writes:
            write.owner = ticket
        event_time = read.order[0] if read.order is not None else None
        self._marks[released.partition].passed(read.source, message.offset, event_time)
        self._marked[released.partition] = ticket
        return ticket, records

    def _assigned_partitions(self) -> set[int]:
        """The input partitions this worker holds (a topic's stopped run counts on each)."""
        return {tp.partition for tp in self.rt.app.consumer.assignment()} | set(self._marks)

    def _refusals_of(self, partition: int) -> Refusals:
        refusals = self._refusals.get(partition)
        if refusals is None:
            refusals = self._refusals[partition] = self.states.refusals(partition)
        return refusals

    def _refused(self, partition: int, topic: str, offset: int) -> Refusal | None:
        """The record's refusals, if the broker refused its records often enough for the DLQ."""
        refusals = self._refusals_of(partition)
        if not refusals.by_input:
            return None
        return refusals.due(topic, offset, self.rt.settings.delivery_attempts)

    def _held(self, partition: int) -> dict[str, HeldTopic]:
        """The topics whose records are dead-lettered now (``agents.refusals``)."""
        refusals = self._refusals_of(partition)
        if not refusals.by_topic:
            return {}
        settings = self.rt.settings
        now_s = self.rt.clock().timestamp()
        return refusals.held(settings.delivery_attempts, settings.delivery_refusal_hold_s, now_s)

    def _dead_lettered(
        self,
        read: Read,
        partition: int,
        refusal: Refusal,
        records: list[Outgoing],
        writes: list[DeferredWrite],
    ) -> list[Outgoing]:
        """A refused input's DLQ record and tombstones in place of its records; its count
        leaves the table with its state (``agents.refusals``)."""
        message = read.message
        refusals = self._refusals[partition]
        if refusals.settle(read.source, message.offset):
            writes.append(self.states.put_refusals(partition, refusals))
        event_id = None if isinstance(read.checked, Outgoing) else read.checked.event_id
        fault = PipelineFault(refusal_error(refusal), DELIVERY_REFUSED)
        log.error(
            "%s partition %d offset %d: %s; it goes to the DLQ, its state change kept",
            read.source,
            partition,
            message.offset,
            f"records to a held topic ({', '.join(refusal.topics)}, {refusal.error})"
            if refusal.whole_topic
            else f"its records were refused {refusal.attempts} time(s) "
            f"({', '.join(refusal.topics)}, {refusal.error})",
        )
        letter = dead_letter(self.rt, fault, read.source, message, event_id)
        return [letter, *in_place_of(records, refusal.topics)]

    def _stream_time(self, released: Released[Any], topic: str, offset: int) -> datetime | None:
        """The stream time to decide a record with: the partition's mark's for a record past
        it (a worker restarted decides as the one before it would have: the mark's time is the
        latest of the kept one and those decided since, so at least the merge's), the merge's
        for a record decided before the restart and read again."""
        partition = released.partition
        mark = self._marks.get(partition)
        if mark is None:
            mark = self._marks[partition] = self.states.stream_mark(partition) or StreamMark()
        if mark.time is None or mark.covers(topic, offset):
            return released.stream_time
        return mark.time

    def _mark_run(self) -> None:
        """Write each decided partition's stream mark once per run, owed by the run's last
        input of that partition (acked only once the mark is on the changelog too)."""
        for partition, ticket in self._marked.items():
            write = self.states.put_stream_mark(partition, self._marks[partition])
            write.owner = ticket
            self.deliveries.acks.owe(ticket)
        self._marked.clear()

    def _note_enforced(self, released: Released[Any]) -> None:
        partition = released.partition
        if not released.enforced:
            self._enforcing.discard(partition)
        elif partition not in self._enforcing:
            self._enforcing.add(partition)
            log.warning(
                "partition %d: deciding without waiting any longer for %s (records on the "
                "broker not read): events may be decided out of event-time order",
                partition,
                ", ".join(
                    self.offsets.describe(t, partition, self.merger.last_offset(t, partition))
                    for t in released.lagging
                ),
            )

    def _flowing(self) -> bool:
        """False while a rebalance is in progress (Faust suspends the flow)."""
        return bool(self.rt.app.flow_control.is_active())

    def _drop(self, why: str) -> None:
        """Forget the records read and not decided: they are not acked, and no longer in
        progress either (Faust waits for every record in progress before a rebalance goes on);
        Faust reads them again from the committed offsets."""
        dropped = self.merger.clear()
        self._marks.clear()  # read again from the table: the assignment may be new
        self._refusals.clear()
        self._apply_fetch_plan()
        self._room.set()
        forget_in_progress(self.rt.app, (event.message for event, _ in dropped))
        if dropped:
            log.info(
                "%s: %d record(s) read and not yet decided will be read again", why, len(dropped)
            )


def register(app: faust.App, rt: Runtime) -> InputsAgent:
    """Declare the consent table and the one agent over all five input topics on ``app``."""
    table = app.Table(
        CONSENT_TABLE,
        default=None,
        partitions=rt.settings.partitions,
        key_type=bytes,
        value_type=bytes,
        help="Consent and suspension state per customer (key: customer_id).",
    )
    inputs = app.topic(
        *(rt.names.physical(name) for name in topics.INPUT_TOPICS),
        key_serializer="raw",
        value_serializer="raw",
    )
    agent = InputsAgent(rt, table)
    consumer: Any = app.consumer
    if hasattr(consumer, "input_sink"):  # the worker's consumer: input records in batches
        consumer.input_sink = agent.take
        consumer.input_topics = frozenset(inputs.topics)

    async def count_consent_subjects() -> None:
        metrics.set_consent_subjects(agent.states.subjects())

    app.timer(interval=10.0, name="purposegate.consent_subjects")(count_consent_subjects)

    async def purposegate_inputs(stream: faust.StreamT[Any]) -> None:
        await agent.run(stream)

    app.agent(inputs, name="purposegate.inputs", concurrency=1)(purposegate_inputs)
    return agent
