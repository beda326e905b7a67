"""What happens when the producer answers: inputs acked in order, or the worker stopped.

A decided input's records (and its state's changelog writes) are delivered one by one or one
producer batch at a time; :class:`Deliveries` counts them down on the input's ack ticket
(:class:`~agents.acks.AckTracker`) and acks the inputs that are complete, in offset order per
input topic-partition. A tombstone's input also waits for the tombstone's erasure notice record
(``agents.notices``: written once the broker has given the tombstone its offset). A delivery the
broker refuses, or a record the producer will not take,
is never acked: the worker stops as on SIGTERM, without committing past it, and exits with
code 3; the next worker reads it again. A refusal that retrying cannot change is counted against
its inputs first (:mod:`agents.refusals`: after ``delivery_attempts`` of them an input goes to
the DLQ), and the stop waits until those counts are on the changelog.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from functools import partial
from typing import Any

from agents.acks import AckTracker, Ticket
from agents.notices import NoticeWriter
from agents.refusals import RefusalCounter
from agents.runtime import Runtime
from flow.path import Outgoing
from policy.erasure import Notice
from policy.errors import PurposegateError

log = logging.getLogger("purposegate.agents")


class Deliveries:
    """The ack tickets of the inputs in flight, and the stop when one cannot be finished."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.acks: AckTracker[Any] = AckTracker()
        #: Set when a record could not be finished: nothing more is decided.
        self.failed = False
        self.notices = NoticeWriter(rt)
        self._writing: set[asyncio.Future[None]] = set()
        #: One future per erasure notice record owed since :meth:`take_notices`: True once
        #: the record is delivered, False when it will not be.
        self._notices: list[asyncio.Future[bool]] = []
        #: Counts refusals for ever against their inputs (the agent sets it: it needs the table).
        self.refusals: RefusalCounter | None = None

    def delivered(self, ticket: Ticket[Any], delivery: Any) -> None:
        """One record of the ticket (an erasure notice record) is done."""
        if delivery.cancelled():
            self.fail(ticket, None)  # the producer stopped: nothing acked, read again
            return
        error = delivery.exception()
        if error is not None:
            self.fail(ticket, error)
            return
        for event in self.acks.delivered(ticket):
            self._ack(event)

    def batch_delivered(
        self, tickets: list[Ticket[Any]], handed: float, topic: str, delivery: Any
    ) -> None:
        """A producer batch to ``topic`` (physical) is done: one ticket per record in it, handed
        over at ``handed``."""
        error = None if delivery.cancelled() else delivery.exception()
        if delivery.cancelled() or error is not None:
            if self.refusals is not None:  # before the stop it leads to
                self.refusals.count((t.handle.message for t in tickets), topic, error)
            for ticket in dict.fromkeys(tickets):
                self.fail(ticket, error)
            return
        count_sent = getattr(self.rt.app.monitor, "count_sent", None)
        if (
            count_sent is not None
        ):  # Faust's sensor, off the per-event path (broker/metrics_page.py)
            count_sent(len(tickets), (time.monotonic() - handed) * 1000)
        for event in self.acks.delivered_all(tickets):
            self._ack(event)

    def notice_sent(self, ticket: Ticket[Any], record: Outgoing, future: Any) -> None:
        """A tombstone was handed to the producer: its input also owes the notice record
        (``agents.notices``), written when the broker has given the tombstone its offset."""
        self.acks.owe(ticket)
        written: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._notices.append(written)
        future.add_done_callback(partial(self._told, ticket, record, written))

    def take_notices(self) -> list[asyncio.Future[bool]]:
        """The notice records owed since the last call: one future each, True once the record
        is delivered, False when it will not be (``agents.state_after_outputs`` waits for
        them as for the outputs)."""
        notices, self._notices = self._notices, []
        return notices

    def _told(
        self, ticket: Ticket[Any], record: Outgoing, written: asyncio.Future[bool], future: Any
    ) -> None:
        if future.cancelled() or future.exception() is not None or future.result() is None:
            self.fail(ticket, None)  # the batch's own callback names the error
            _settle(written, False)
            return
        notice = self.notices.notice(record, future.result(), self.rt.clock())
        task = asyncio.ensure_future(self._write_notice(ticket, notice, written))
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    async def _write_notice(
        self, ticket: Ticket[Any], notice: Notice, written: asyncio.Future[bool]
    ) -> None:
        try:
            key, value = self.notices.encoded(notice)
            sent = await self.rt.aiokafka_producer().send(self.notices.topic, value, key=key)
        except Exception as exc:  # noqa: BLE001 - never acked; the worker stops
            self.fail(ticket, exc)
            _settle(written, False)
            return
        sent.add_done_callback(partial(self._notice_delivered, ticket, written))

    def _notice_delivered(
        self, ticket: Ticket[Any], written: asyncio.Future[bool], delivery: Any
    ) -> None:
        self.delivered(ticket, delivery)
        _settle(written, not delivery.cancelled() and delivery.exception() is None)

    def fail(self, ticket: Ticket[Any], error: BaseException | None) -> None:
        """Never ack the ticket's input (nor any later one of its partition); it is no longer
        in progress either, so that the stop does not wait for it."""
        self.acks.fail(ticket)
        forget_in_progress(self.rt.app, [ticket.handle.message])
        if error is not None:
            self.fatal(error)

    def fatal(self, error: BaseException) -> None:
        """A record was not delivered: stop the worker rather than commit past it."""
        if self.failed or self.rt.app.should_stop:
            return
        self.failed = True
        # Nothing in flight will be committed past: none of it is waited for at the stop.
        forget_in_progress(self.rt.app, (event.message for event in self.acks.handles()))
        log.error(
            "a record could not be finished (%s); it is not acked, the worker stops and the "
            "next one reads it again: %s",
            type(error).__name__,
            error if isinstance(error, PurposegateError) else "",
        )
        if self.refusals is not None and self.refusals.counting():
            task = asyncio.ensure_future(self._stop_when_counted(error))
            self._writing.add(task)
            task.add_done_callback(self._writing.discard)
        else:
            self.rt.stop_failed(error)

    async def _stop_when_counted(self, error: BaseException) -> None:
        """Stop once the refusal counts are on the changelog (the next worker reads them)."""
        if self.refusals is not None:
            await self.refusals.written()
        self.rt.stop_failed(error)

    def _ack(self, event: Any) -> None:
        message = event.message
        if event.ack():  # the sensors that count finished records (the stall watchdog's)
            self.rt.app.sensors.on_message_out(message.tp, message.offset, message)


def _settle(future: asyncio.Future[bool], delivered: bool) -> None:
    if not future.done():
        future.set_result(delivered)


def forget_in_progress(app: Any, messages: Iterable[Any]) -> None:
    """Take messages out of Faust's set of records in progress (it waits for every one of them
    before a rebalance goes on and at the stop): they will not be acked, and are read again."""
    in_progress = app.consumer.unacked
    for message in messages:
        in_progress.discard(message)
