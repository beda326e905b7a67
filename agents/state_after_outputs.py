"""The consent state reaches the broker only after the outputs decided before it.

A worker that stops between its outputs and its state's changelog records (killed, or refused
by the broker) must leave the *older* state on the broker: the next worker restores it, decides
those inputs again and sends the same records again (duplicates: at least once). The other way
round, the newer state on the broker and its outputs not, the next worker decides those inputs
again on a state that already holds the changes decided after them (a withdrawal), forwards
less than it should and owes no tombstone any more: records lost. Handing both to the producer
at once is not enough: the broker may take the changelog's request and not yet the outputs'
(aiokafka sends a request per node as soon as the one before it is answered), and a refused
output topic takes nothing while the changelog goes on.

:class:`ChangelogAfterOutputs` therefore holds the changelog records of a run of decisions until
every output of that run is delivered (its producer batches and its erasure notice records) and
the changelog records of every run before it are delivered. A record not delivered closes it
for good: no later state reaches the broker, the owners of what it holds are failed (never
acked), and the worker stops (``agents.delivery``). The cost: an input is acked one broker
round trip later than its outputs are delivered; the decider never waits for it.

No Faust here: what is sent and what it is owed to are the caller's.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from flow.path import Outgoing

O = TypeVar("O")  # noqa: E741 - the owner of a record (an ack ticket)

#: ``send(records)``: hand changelog records (each with its owner) to the producer; returns
#: the futures of the producer batches they went into.
Send = Callable[[list[tuple[Outgoing, O]]], Awaitable[list[asyncio.Future[Any]]]]
#: ``failed(owners, error)``: these owners' changelog records will never be delivered.
Failed = Callable[[list[O], BaseException | None], None]


def not_delivered(future: asyncio.Future[Any]) -> tuple[bool, BaseException | None]:
    """Whether a delivery future says "not delivered" (or not yet), and the error when it
    names one. A future resolved to ``False`` (an erasure notice record not written) is not
    delivered."""
    if not future.done() or future.cancelled():
        return True, None
    error = future.exception()
    if error is not None:
        return True, error
    return future.result() is False, None


class _Run(Generic[O]):
    """One run of decisions: its outputs' delivery futures and its changelog records."""

    __slots__ = ("outputs", "writes")

    def __init__(self, outputs: list[asyncio.Future[Any]], writes: list[tuple[Outgoing, O]]):
        self.outputs, self.writes = outputs, writes


class ChangelogAfterOutputs(Generic[O]):
    """Changelog records handed to the producer after their run's outputs (module doc).

    One task sends them, in the order of the runs: it waits for the oldest run's outputs, then
    sends that run's changelog records together with those of the runs behind it whose outputs
    are delivered already, and waits for their delivery before it sends any more (so a refused
    changelog record is never followed by a later state either)."""

    def __init__(self, send: Send[O], failed: Failed[O]) -> None:
        self._send = send
        self._failed = failed
        self._runs: deque[_Run[O]] = deque()
        self._task: asyncio.Future[None] | None = None
        self._closing: asyncio.Future[None] | None = None  # done when closed
        #: Set when a record was not delivered: no changelog record is sent any more.
        self.closed = False

    def after(
        self, outputs: Iterable[asyncio.Future[Any]], writes: Sequence[tuple[Outgoing, O]]
    ) -> None:
        """Send ``writes`` once every future in ``outputs`` says delivered and the writes of
        every earlier call are delivered."""
        self._runs.append(_Run(list(outputs), list(writes)))
        self._wake()

    def close(self, writes: Sequence[tuple[Outgoing, O]] = ()) -> None:
        """Outputs of a run could not even be handed over: send nothing from now on; ``writes``
        (that run's changelog records) fail with every run still waiting."""
        self._runs.append(_Run([], list(writes)))
        self._close()
        self._wake()

    def waiting(self) -> int:
        """Runs whose changelog records are not delivered yet."""
        return len(self._runs)

    def _wake(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        runs = self._runs
        while runs:
            first = runs[0]
            await self._delivered_or_closed(first.outputs)
            taken: list[_Run[O]] = []
            while runs and (not taken or all(f.done() for f in runs[0].outputs)):
                taken.append(runs.popleft())
            writes = [write for run in taken for write in run.writes]
            error = self._check(future for run in taken for future in run.outputs)
            try:
                if not self.closed and writes:
                    sent = await self._send(writes)
                    await self._delivered_or_closed(sent)
                    error = self._check(sent)
            except Exception as exc:  # noqa: BLE001 - the producer refused: never acked
                self._close()
                error = exc
            if self.closed and writes:
                self._failed([owner for _, owner in writes], error)

    async def _delivered_or_closed(self, futures: list[asyncio.Future[Any]]) -> None:
        """Until every one of ``futures`` is done, or the gate is closed."""
        pending = [future for future in futures if not future.done()]
        while pending and not self.closed:
            if self._closing is None:
                self._closing = asyncio.get_running_loop().create_future()
            await asyncio.wait([*pending, self._closing], return_when=asyncio.FIRST_COMPLETED)
            pending = [future for future in pending if not future.done()]

    def _check(self, futures: Iterable[asyncio.Future[Any]]) -> BaseException | None:
        """Close when one of ``futures`` is not delivered; the first error named."""
        error: BaseException | None = None
        for future in futures:  # every one read, so that no exception goes unretrieved
            missing, its_error = not_delivered(future)
            if missing:
                self._close()
                error = error or its_error
        return error

    def _close(self) -> None:
        self.closed = True
        if self._closing is not None and not self._closing.done():
            self._closing.set_result(None)
