"""When an input may be acked: after every record it produced is delivered, in offset order.

Faust commits, per topic-partition, up to the first offset that is not acked. Its gap check is
loose (``Consumer._new_offset`` lets one missing offset through), so the worker must never ack
out of offset order within a topic-partition, and never ack an input whose outputs might still
be lost. This tracker holds, per input topic-partition, the inputs handed to the producer in the
order they were processed; an input becomes ackable once all its records (outputs, tombstones,
audit or dead letter, changelog write) are delivered AND every input before it on that
topic-partition is ackable. A failed delivery blocks its topic-partition for good: nothing at or
after it is ever acked, so the worker stops without committing past it.

No Faust here: a *handle* is whatever the caller acks (a Faust event).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

H = TypeVar("H")


@dataclass(eq=False, slots=True)
class Ticket(Generic[H]):
    """One input in flight: its handle and how many of its records are not yet delivered."""

    source: Hashable
    handle: H
    pending: int
    failed: bool = False


@dataclass
class AckTracker(Generic[H]):
    _queues: dict[Hashable, deque[Ticket[H]]] = field(default_factory=dict)

    def track(self, source: Hashable, handle: H, records: int) -> Ticket[H]:
        """An input of topic-partition ``source`` whose ``records`` records go to the producer
        now (call in processing order)."""
        ticket = Ticket(source, handle, records)
        self._queues.setdefault(source, deque()).append(ticket)
        return ticket

    def delivered(self, ticket: Ticket[H]) -> list[H]:
        """One of the ticket's records is delivered; returns the handles that may be acked
        now, in offset order."""
        ticket.pending -= 1
        return self.ackable(ticket.source)

    def delivered_all(self, tickets: Iterable[Ticket[H]]) -> list[H]:
        """A record of each ticket in ``tickets`` is delivered (a ticket once per record, as in
        a producer batch); returns the handles that may be acked now, in offset order per
        topic-partition."""
        sources: dict[Hashable, None] = {}
        for ticket in tickets:
            ticket.pending -= 1
            sources[ticket.source] = None
        return [handle for source in sources for handle in self.ackable(source)]

    def owe(self, ticket: Ticket[H]) -> None:
        """The ticket owes one more record than it was tracked with (an erasure notice, written
        once its tombstone's offset is known): call before that tombstone can be delivered."""
        ticket.pending += 1

    def fail(self, ticket: Ticket[H]) -> None:
        """A record of the ticket was not delivered (or not even handed over): never ack it."""
        ticket.failed = True

    def ackable(self, source: Hashable) -> list[H]:
        """Pop and return the handles at the front of ``source`` that are complete."""
        queue = self._queues.get(source)
        done: list[H] = []
        while queue and queue[0].pending <= 0 and not queue[0].failed:
            done.append(queue.popleft().handle)
        if queue is not None and not queue:
            del self._queues[source]
        return done

    def handles(self) -> list[H]:
        """Every input in flight, acked or not yet."""
        return [ticket.handle for queue in self._queues.values() for ticket in queue]
