"""The worker's one agent: all five input topics, merged in event time, decided one by one.

One Faust agent (concurrency 1) reads the five co-partitioned input topics with acks disabled.
Inside it two coroutines share one :class:`~agents.merge.Merger`:

- the *reader* takes each record off the stream, checks it once (decode, validate) and adds
  it to the merger; it pauses while the merger holds ``merge_max_buffered`` records;
- the *decider* pops records in decision order (``event_time``, tie rank), decides each, hands
  its records to the producer and registers their deliveries with the ack tracker.

Ordering holds without a lock: only the decider decides and sends, one record at a time, and
hands all records of one event to the producer before it decides the next; records of one key
go to one partition of each output topic and the producer keeps per-partition order. So a
withdrawal's tombstone follows every record of that customer forwarded before it.

Acks: a record is acked only when everything it produced is delivered, and in offset order per
input topic-partition (:class:`~agents.acks.AckTracker`); records held in the merger are never
acked, so a commit never passes one. A delivery the broker refuses, or a record the producer
will not take, is never acked: the worker stops as on SIGTERM, without committing past it, and
exits with code 3; the next worker reads it again.

A rebalance drops everything the merger holds: Faust seeks every assigned partition back to its
committed offset when the rebalance completes, so those records are read again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from functools import partial
from typing import Any

import faust

from agents import pipeline
from agents.acks import AckTracker, Ticket
from agents.faust_edges import FaustStates, InputOffsets, deciding, forget_in_progress
from agents.merge import Entry, Merger, Released, Wait
from agents.runtime import Runtime
from policy import topics
from policy.errors import PurposegateError
from streams.kafka import metrics

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
        self.offsets = InputOffsets(rt.app, rt.names)
        self.merger: Merger[Any] = Merger(
            topics.INPUT_TOPICS, settings.merge_idle_ms / 1000, settings.merge_max_wait_ms / 1000
        )
        self.acks: AckTracker[Any] = AckTracker()
        self.max_buffered = settings.merge_max_buffered
        self._arrived = asyncio.Event()
        self._room = asyncio.Event()
        self._generation: int | None = None
        self._failed = False
        self._stream: Any = None
        #: Partition numbers deciding without waiting for a lagging input (idle bound out).
        self._enforcing: set[int] = set()

    async def run(self, stream: Any) -> None:
        """The agent body: read and decide until the worker stops."""
        self._stream = stream.noack()
        self._drop("agent (re)started")
        reader = asyncio.ensure_future(self._read(self._stream))
        try:
            await self._decide_all(reader)
            reader.result()  # the stream ended (the worker stops), or the reader failed
        except Exception as exc:  # noqa: BLE001 - a fault outside any one record
            self._fatal(exc)  # stop rather than skip: nothing held is acked
        finally:
            reader.cancel()
            self._drop("agent stopped")
        if self._failed:
            # Returning would let Faust's supervisor restart the agent on the same stream:
            # decide nothing more; the stop cancels this.
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

    def _hold(self, event: Any) -> None:
        message = event.message
        if message.generation_id != self._generation:
            self._drop("rebalance")
            self._generation = message.generation_id
        try:
            read = pipeline.check(self.rt, message)
        except Exception:  # an outage (the registry): the worker stops; this record is not acked
            forget_in_progress(self.rt.app, [message])  # nor waited for at the stop
            raise
        entry = Entry(message.offset, read.order, (event, read))
        self.merger.add(read.source, message.partition, entry, time.monotonic())
        self._arrived.set()

    async def _decide_all(self, reader: asyncio.Future[None]) -> None:
        while not reader.done() and not self._failed:
            until = await self._decide_next()
            if until is not None:
                await self._wait(until)

    async def _decide_next(self) -> float | None:
        """Decide the next record in decision order; or the time to wait until (``inf``: until
        a record arrives)."""
        if not self._flowing():
            self._drop("rebalance in progress")
            return time.monotonic() + SUSPENDED_POLL_S
        outcome = self.merger.pop(time.monotonic(), self.offsets.lagging)
        self._room.set()  # a record left, or a partition waits: the reader may go on
        if isinstance(outcome, Wait):
            return math.inf if outcome.until is None else outcome.until
        event, _ = outcome.entry.item
        if event.message.generation_id != self.rt.app.consumer_generation_id:
            forget_in_progress(self.rt.app, [event.message])  # read again, with the rest
            self._drop("rebalance")
            return None
        await self._decide(outcome)
        await asyncio.sleep(0)  # let the reader (and Faust's fetcher) run between decisions
        return None

    async def _wait(self, until: float) -> None:
        """Until a record arrives or ``until``; at most a short while, to notice a rebalance."""
        self._arrived.clear()
        timeout = min(max(until - time.monotonic(), 0.0), SUSPENDED_POLL_S)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), timeout)

    async def _decide(self, released: Released[Any]) -> None:
        started = time.perf_counter()
        event, read = released.entry.item
        self._note_enforced(released)
        message = event.message
        try:
            with deciding(event):
                records, writes = pipeline.records_for(
                    self.rt, self.states, read, released.stream_time
                )
        except Exception:  # a fault outside any one record (the table): the worker stops
            forget_in_progress(self.rt.app, [message])
            raise
        source = (message.topic, message.partition)
        ticket = self.acks.track(source, event, len(records) + len(writes))
        delivered = partial(self._delivered, ticket)
        for write in writes:
            write.add_done_callback(delivered)  # type: ignore[attr-defined]
        try:
            await self.rt.send(records, delivered)
        except Exception as exc:  # noqa: BLE001 - never acked; the worker stops
            self._fail(ticket, exc)
            return
        for record in records:
            if record.dlq_kind is not None:
                metrics.observe_dlq(read.source, record.dlq_kind)
        metrics.observe_processing(time.perf_counter() - started)

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

    def _delivered(self, ticket: Ticket[Any], delivery: Any) -> None:
        if delivery.cancelled():
            self._fail(ticket, None)  # the producer stopped: nothing acked, read again
            return
        error = delivery.exception()
        if error is not None:
            self._fail(ticket, error)
            return
        for event in self.acks.delivered(ticket):
            self._ack(event)

    def _fail(self, ticket: Ticket[Any], error: BaseException | None) -> None:
        """Never ack the ticket's input (nor any later one of its partition); it is no longer
        in progress either, so that the stop does not wait for it."""
        self.acks.fail(ticket)
        forget_in_progress(self.rt.app, [ticket.handle.message])
        if error is not None:
            self._fatal(error)

    def _ack(self, event: Any) -> None:
        message = event.message
        sensors = self.rt.app.sensors
        sensors.on_stream_event_out(message.tp, message.offset, self._stream, event, None)
        if event.ack():
            sensors.on_message_out(message.tp, message.offset, message)

    def _fatal(self, error: BaseException) -> None:
        """A record was not delivered: stop the worker rather than commit past it."""
        if self._failed or self.rt.app.should_stop:
            return
        self._failed = True
        # Nothing in flight will be committed past: none of it is waited for at the stop.
        forget_in_progress(self.rt.app, (event.message for event in self.acks.handles()))
        log.error(
            "a record could not be finished (%s); it is not acked, the worker stops and the "
            "next one reads it again: %s",
            type(error).__name__,
            error if isinstance(error, PurposegateError) else "",
        )
        self.rt.stop_failed(error)

    def _flowing(self) -> bool:
        """False while a rebalance is in progress (Faust suspends the flow)."""
        return bool(self.rt.app.flow_control.is_active())

    def _drop(self, why: str) -> None:
        """Forget the records read and not decided: they are not acked, and no longer in
        progress either (Faust waits for every record in progress before a rebalance goes on);
        Faust reads them again from the committed offsets."""
        dropped = self.merger.clear()
        self._room.set()
        forget_in_progress(self.rt.app, (event.message for event, _ in dropped))
        if dropped:
            log.info(
                "%s: %d record(s) read and not yet decided will be read again", why, len(dropped)
            )


def register(app: faust.App, rt: Runtime) -> None:
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

    async def count_consent_subjects() -> None:
        metrics.set_consent_subjects(agent.states.subjects())

    app.timer(interval=10.0, name="purposegate.consent_subjects")(count_consent_subjects)

    async def purposegate_inputs(stream: faust.StreamT[Any]) -> None:
        await agent.run(stream)

    app.agent(inputs, name="purposegate.inputs", concurrency=1)(purposegate_inputs)
