"""Outputs the broker refuses for ever: counted per input across restarts, then the DLQ.

A delivery the broker refuses stops the worker without committing past its input
(:mod:`agents.delivery`): an operator may fix the topic, and the next worker delivers the
records (``tests/integration/test_delivery_failure.py``). So that a refusal nobody fixes is not a
crash loop, a refusal that retrying cannot change (:func:`refused_for_ever`: a broker error that
is not retriable — the record is larger than the topic takes, the worker may not write the
topic, the topic's policy rejects it) is counted against each input with a record in the
refused batch: in the consent table, under one key per input partition (:data:`REFUSED_KEY`),
so that the count survives the restart and moves with the partition to whichever worker takes
it. It is written, and sent to the changelog, before the worker stops; an input counts at most
once per worker.

Once an input was refused ``delivery_attempts`` times (``PURPOSEGATE_DELIVERY_ATTEMPTS``), the
next worker decides it as usual — its state change is kept, so a withdrawal or an erasure is not
lost — and sends in place of its records (:func:`in_place_of`):

- one DLQ record, ``error_kind`` ``delivery_refused``, naming the refused topics and the error;
- its tombstones to the topics that did not refuse (an erasure still reaches those recipients);

and nothing else: no forwarded record and no audit record (nothing is provided, so nothing is
recorded as provided; the DLQ record says what happened), no shadow record. Then its count is
taken out of the table with the decision's other state.

Not counted (the worker stops each time and nothing is lost; ``docs/ops.md`` says what to do):
a refusal of the consent table's changelog (the state could not be kept), a retriable error or a
timeout (the broker is away, not refusing), a refused erasure notice record. A DLQ that refuses
the dead letter itself is counted again each time: the input is never acked, so it is never lost.

The bound is per input. A topic that refuses every record (an ACL taken away) costs the attempts
once per wave of inputs routed there (the inputs in flight when a worker stops); bounding that
overall needs a breaker per topic (dead-letter what goes there for a while after N stopped runs,
then try again), which would divert a whole recipient's stream on a misconfiguration.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Final

from aiokafka.errors import BrokerResponseError

from flow.path import Outgoing

log = logging.getLogger("purposegate.agents")

#: The key of a partition's refusal counts in the consent table: not UTF-8, so never a customer
#: id (those are UTF-8 strings).
REFUSED_KEY: Final = b"\xffpurposegate-refused:%d"
#: The DLQ ``error_kind`` of an input whose records the broker refused too often.
DELIVERY_REFUSED: Final = "delivery_refused"
#: How long a stopping worker waits for its refusal counts to reach the changelog (seconds).
COUNT_WRITE_TIMEOUT_S: Final = 10.0


def refused_for_ever(error: BaseException | None) -> bool:
    """Whether retrying cannot change a refusal: the broker answered with an error that is not
    retriable (a timeout or a lost connection is not an answer).

    >>> from aiokafka.errors import MessageSizeTooLargeError, NotLeaderForPartitionError
    >>> from aiokafka.errors import KafkaTimeoutError
    >>> [refused_for_ever(e()) for e in (MessageSizeTooLargeError, NotLeaderForPartitionError,
    ...                                  KafkaTimeoutError)]
    [True, False, False]
    """
    return isinstance(error, BrokerResponseError) and not error.retriable


@dataclass(frozen=True)
class Refusal:
    """How often an input's records were refused, where (logical topics), and the error's
    type name (no error text: it may quote a record)."""

    attempts: int
    topics: tuple[str, ...]
    error: str


@dataclass
class Refusals:
    """One input partition's refusal counts, per input (logical topic and offset)."""

    by_input: dict[tuple[str, int], Refusal] = field(default_factory=dict)

    def count(self, source: str, offset: int, topic: str, error: str, again: bool) -> Refusal:
        """The input at ``offset`` of ``source`` had a record refused by ``topic``;
        ``again``: this worker counted it already (only the topic is added then)."""
        earlier = self.by_input.get((source, offset))
        if earlier is None:
            counted = Refusal(1, (topic,), error)
        else:
            topics = earlier.topics if topic in earlier.topics else (*earlier.topics, topic)
            attempts = earlier.attempts if again else earlier.attempts + 1
            counted = replace(earlier, attempts=attempts, topics=topics, error=error)
        self.by_input[(source, offset)] = counted
        return counted

    def due(self, source: str, offset: int, attempts: int) -> Refusal | None:
        """The input's refusal if it was refused ``attempts`` times or more."""
        refusal = self.by_input.get((source, offset))
        return refusal if refusal is not None and refusal.attempts >= attempts else None

    def settle(self, source: str, offset: int) -> None:
        """The input went to the DLQ: forget its count."""
        self.by_input.pop((source, offset), None)

    def to_bytes(self) -> bytes | None:
        """The table's value (None: nothing counted, the key is deleted).

        >>> Refusals.from_bytes(Refusals({("orders", 7): Refusal(2, ("audit",), "E")})
        ...                     .to_bytes()).by_input
        {('orders', 7): Refusal(attempts=2, topics=('audit',), error='E')}
        """
        if not self.by_input:
            return None
        entries = [
            {"source": s, "offset": o, "attempts": r.attempts, "topics": r.topics, "error": r.error}
            for (s, o), r in sorted(self.by_input.items())
        ]
        return json.dumps(entries).encode()

    @classmethod
    def from_bytes(cls, stored: bytes | None) -> Refusals:
        if not stored:
            return cls()
        return cls(
            {
                (str(e["source"]), int(e["offset"])): Refusal(
                    int(e["attempts"]), tuple(str(t) for t in e["topics"]), str(e["error"])
                )
                for e in json.loads(stored)
            }
        )


class _NotCounted:
    """The decision of a refused input is not counted as forwarded or blocked: it went to the
    DLQ (``flow.path.Counts``)."""

    def observe_decision(self, decision: Any) -> None:
        return None

    def observe_shadow(self, differences: Any) -> None:
        return None


NOT_COUNTED: Final = _NotCounted()


def in_place_of(records: Iterable[Outgoing], refused: tuple[str, ...]) -> list[Outgoing]:
    """What still goes of a refused input's records beside its dead letter: its tombstones to
    the topics that did not refuse (module docstring).

    >>> from flow.path import NoticeOf
    >>> out = [Outgoing("a", b"k", b"v", []), Outgoing("a", b"k", None, [], notice=NoticeOf(
    ...     "erased", "e")), Outgoing("b", b"k", None, [], notice=NoticeOf("erased", "e"))]
    >>> [(r.topic, r.value) for r in in_place_of(out, ("b",))]
    [('a', None)]
    """
    return [r for r in records if r.notice is not None and r.topic not in refused]


def refusal_error(refusal: Refusal) -> str:
    """The DLQ record's readable error.

    >>> refusal_error(Refusal(3, ("audit", "shared.x.y"), "MessageSizeTooLargeError"))[:70]
    'the broker refused its records to audit, shared.x.y (MessageSizeTooLar'
    """
    return (
        f"the broker refused its records to {', '.join(refusal.topics)} ({refusal.error}) "
        f"{refusal.attempts} time(s); its state change is kept, nothing of it is forwarded or "
        "audited, its tombstones to other topics are sent"
    )


#: ``write(partition, key, value)``: write the consent table's key now; its changelog record.
WriteLive = Callable[[int, bytes, bytes | None], Outgoing]
#: ``send(record)``: hand a changelog record to the producer; done when the broker has it.
SendNow = Callable[[Outgoing], Awaitable["asyncio.Future[Any]"]]


class RefusalCounter:
    """Counts refusals as the producer reports them and writes them before the worker stops."""

    def __init__(
        self,
        read: Callable[[int], Refusals],
        write: WriteLive,
        send: SendNow,
        logical: Callable[[str], str],
        changelog_topic: Callable[[], str],
    ) -> None:
        """``read(partition)``: its counts in the table; ``logical``: a topic's logical name."""
        self._read = read
        self._write = write
        self._send = send
        self._logical = logical
        self._changelog_topic = changelog_topic
        #: The inputs this worker counted already (topic, partition, offset).
        self._counted: set[tuple[str, int, int]] = set()
        self._writing: set[asyncio.Future[Any]] = set()

    def count(self, messages: Iterable[Any], topic: str, error: BaseException | None) -> None:
        """A batch to ``topic`` (physical) was refused with ``error``: count it against the
        inputs (Faust messages) with a record in it, if it is a refusal for ever."""
        if not refused_for_ever(error) or topic == self._changelog_topic():
            return
        refused, kind = self._logical(topic), type(error).__name__
        inputs = {(m.topic, m.partition, m.offset): m for m in messages}
        changed: dict[int, Refusals] = {}
        worst = 0
        for where, message in inputs.items():
            partition = message.partition
            refusals = changed.get(partition)
            if refusals is None:
                refusals = changed[partition] = self._read(partition)
            source = self._logical(message.topic)
            counted = refusals.count(source, message.offset, refused, kind, where in self._counted)
            self._counted.add(where)
            worst = max(worst, counted.attempts)
        for partition, refusals in changed.items():
            record = self._write(partition, REFUSED_KEY % partition, refusals.to_bytes())
            self._writing.add(asyncio.ensure_future(self._delivered(record)))
        log.error(
            "%s refused the records of %d input(s) (%s): counted, the most %d time(s) so far; "
            "an input refused PURPOSEGATE_DELIVERY_ATTEMPTS times goes to the DLQ",
            refused,
            len(inputs),
            kind,
            worst,
        )

    async def _delivered(self, record: Outgoing) -> None:
        await (await self._send(record))

    def counting(self) -> bool:
        """Whether a count was written since the worker started (the stop waits for it)."""
        return bool(self._writing)

    async def written(self, timeout: float = COUNT_WRITE_TIMEOUT_S) -> None:
        """Until the counts written so far are on the changelog (or ``timeout``); a count that
        could not be written is logged: the input is then tried once more than the limit."""
        if not self._writing:
            return
        done, pending = await asyncio.wait(self._writing, timeout=timeout)
        failed = [task for task in done if task.exception() is not None] + list(pending)
        if failed:
            log.warning("%d refusal count(s) did not reach the changelog", len(failed))
