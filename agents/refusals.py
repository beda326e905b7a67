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

A topic that refuses every record (an ACL taken away, a size limit below every batch) would
cost the attempts once per wave of inputs routed there (the inputs in flight when a worker
stops). So each stopped run is also counted against the refusing topic, on every input
partition the worker holds; a topic that stopped ``delivery_attempts`` runs is *held* for
``PURPOSEGATE_DELIVERY_REFUSAL_HOLD_S`` after its last refusal: every input with a record for it
goes to the DLQ as above (:func:`held_refusal`), without trying. After the hold the topic is
tried again; a refusal then stops one run and holds it again. Measured: 162 inputs for a topic
refusing everything, 2 attempts: 2 worker runs stopped, the third dead-lettered them and went on
(more than 20 runs before the hold).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
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
    #: The topics refused so many worker runs that what goes there is held (not tried).
    whole_topic: bool = False


@dataclass(frozen=True)
class HeldTopic:
    """A topic that refused inputs of the partition in ``runs`` worker runs, the last one at
    ``since_s`` (seconds since the epoch): once ``runs`` reaches the attempts, what goes there
    is dead-lettered until ``since_s`` is older than the hold."""

    runs: int
    error: str
    since_s: float


@dataclass
class Refusals:
    """One input partition's refusal counts: per input (logical topic and offset), and per
    refusing topic (the worker runs it stopped)."""

    by_input: dict[tuple[str, int], Refusal] = field(default_factory=dict)
    by_topic: dict[str, HeldTopic] = field(default_factory=dict)

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

    def count_run(self, topic: str, error: str, now_s: float) -> HeldTopic:
        """A worker run stopped on ``topic`` refusing inputs (call once per run)."""
        earlier = self.by_topic.get(topic)
        counted = HeldTopic(1 if earlier is None else earlier.runs + 1, error, now_s)
        self.by_topic[topic] = counted
        return counted

    def due(self, source: str, offset: int, attempts: int) -> Refusal | None:
        """The input's refusal if it was refused ``attempts`` times or more."""
        refusal = self.by_input.get((source, offset))
        return refusal if refusal is not None and refusal.attempts >= attempts else None

    def held(self, attempts: int, hold_s: float, now_s: float) -> dict[str, HeldTopic]:
        """The topics whose records are dead-lettered now: they stopped ``attempts`` runs or
        more, the last one less than ``hold_s`` ago.

        >>> r = Refusals(by_topic={"t": HeldTopic(2, "E", 100.0), "u": HeldTopic(1, "E", 100.0)})
        >>> list(r.held(2, 60, 150.0)), list(r.held(2, 60, 161.0))
        (['t'], [])
        """
        return {
            topic: held
            for topic, held in self.by_topic.items()
            if held.runs >= attempts and now_s - held.since_s < hold_s
        }

    def settle(self, source: str, offset: int) -> bool:
        """The input went to the DLQ: forget its count (False: it had none)."""
        return self.by_input.pop((source, offset), None) is not None

    def to_bytes(self) -> bytes | None:
        """The table's value (None: nothing counted, the key is deleted).

        >>> r = Refusals({("orders", 7): Refusal(2, ("audit",), "E")}, {"audit": HeldTopic(
        ...     1, "E", 5.0)})
        >>> Refusals.from_bytes(r.to_bytes()) == r
        True
        """
        if not self.by_input and not self.by_topic:
            return None
        inputs = [
            {"source": s, "offset": o, "attempts": r.attempts, "topics": r.topics, "error": r.error}
            for (s, o), r in sorted(self.by_input.items())
        ]
        topics = {t: [h.runs, h.error, h.since_s] for t, h in sorted(self.by_topic.items())}
        return json.dumps({"inputs": inputs, "topics": topics}).encode()

    @classmethod
    def from_bytes(cls, stored: bytes | None) -> Refusals:
        if not stored:
            return cls()
        document = json.loads(stored)
        return cls(
            {
                (str(e["source"]), int(e["offset"])): Refusal(
                    int(e["attempts"]), tuple(str(t) for t in e["topics"]), str(e["error"])
                )
                for e in document["inputs"]
            },
            {
                str(topic): HeldTopic(int(runs), str(error), float(since))
                for topic, (runs, error, since) in document["topics"].items()
            },
        )


class Collected:
    """A decision's counts (``flow.path.Counts``), held until it is known whether the input
    goes to the DLQ (then its decision is not counted as forwarded or blocked)."""

    def __init__(self) -> None:
        self.decisions: list[Any] = []
        self.shadows: list[Any] = []

    def observe_decision(self, decision: Any) -> None:
        self.decisions.append(decision)

    def observe_shadow(self, differences: Any) -> None:
        self.shadows.append(differences)

    def replay(self, counts: Any) -> None:
        for decision in self.decisions:
            counts.observe_decision(decision)
        for differences in self.shadows:
            counts.observe_shadow(differences)


def held_refusal(records: Iterable[Outgoing], held: dict[str, HeldTopic]) -> Refusal | None:
    """The refusal to dead-letter an input with, if any of its records goes to a held topic.

    >>> held = {"t": HeldTopic(3, "E", 0.0)}
    >>> held_refusal([Outgoing("t", b"k", b"v", [])], held)
    Refusal(attempts=3, topics=('t',), error='E', whole_topic=True)
    >>> held_refusal([Outgoing("u", b"k", b"v", [])], held) is None
    True
    """
    going = {record.topic for record in records}
    hit = tuple(topic for topic in held if topic in going)
    if not hit:
        return None
    runs = max(held[topic].runs for topic in hit)
    return Refusal(runs, hit, held[hit[0]].error, whole_topic=True)


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
    topics = ", ".join(refusal.topics)
    if refusal.whole_topic:
        refused = (
            f"{topics} refused records in {refusal.attempts} worker runs ({refusal.error}), so "
            "its records there are not sent for a while (PURPOSEGATE_DELIVERY_REFUSAL_HOLD_S)"
        )
    else:
        refused = f"the broker refused its records to {topics} ({refusal.error}) "
        refused += f"{refusal.attempts} time(s)"
    return (
        f"{refused}; its state change is kept, nothing of it is forwarded or audited, its "
        "tombstones to other topics are sent"
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
        partitions: Callable[[], Iterable[int]] = tuple,
        now_s: Callable[[], float] = time.time,
    ) -> None:
        """``read(partition)``: its counts in the table; ``logical``: a topic's logical name;
        ``partitions()``: the input partitions this worker decides (each counts the run)."""
        self._read = read
        self._write = write
        self._send = send
        self._logical = logical
        self._changelog_topic = changelog_topic
        self._partitions = partitions
        self._now_s = now_s
        #: The topics this worker counted a stopped run of already.
        self._runs_counted: set[str] = set()
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
        if refused not in self._runs_counted:  # a stopped run of this topic, on every partition
            self._runs_counted.add(refused)
            now_s = self._now_s()
            for partition in {*changed, *self._partitions()}:
                refusals = changed.get(partition)
                if refusals is None:
                    refusals = changed[partition] = self._read(partition)
                refusals.count_run(refused, kind, now_s)
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
