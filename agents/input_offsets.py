"""How far each input topic-partition goes on the broker and in the fetch (for the event-time
merge's lag test), the merge's fetch plan applied to Faust's consumer, and the records the agent
took, which no commit may pass until they are acked (``broker.consumer``)."""

from __future__ import annotations

from typing import Any

from faust.types import TP

from agents.merge import FetchPlan, Lag
from broker.faust_internals import committed_offset
from broker.names import TopicNames


class InputOffsets:
    """The consumer's view of one input topic-partition: its log end, the committed offset."""

    def __init__(self, app: Any, names: TopicNames) -> None:
        self.app = app
        self.names = names
        self._assigned: tuple[int, frozenset[TP]] = (-1, frozenset())

    def lagging(self, topic: str, partition: int, last: int | None) -> Lag:
        """Where the records of ``topic``/``partition`` past offset ``last`` (None: nothing
        read yet) are: on the broker (or in aiokafka's buffer: the log end is past aiokafka's
        position), in transit (handed over by aiokafka, not yet read by the merge), or none."""
        consumer = self.app.consumer
        tp = TP(self.names.physical(topic), partition)
        if tp not in self._assignment(consumer):
            return Lag.NONE
        end: int | None = consumer.highwater(tp)
        if end is None:
            return Lag.UNKNOWN  # no fetch answered yet: the first one brings it (bounded)
        # aiokafka's position as of its last hand-over, never its live one: that one runs
        # ahead of the records while they pass from aiokafka's thread to this one, and a
        # partition read as "all handed over, all read" then decided later records first
        position = consumer.handed_position.get(tp)
        if position is None:
            expected = last + 1 if last is not None else (self._committed(tp) or 0)
            return Lag.UNKNOWN if end > expected else Lag.NONE
        if end > position:
            return Lag.ON_BROKER
        # handed over but not read yet: only records, never a control marker (aiokafka moves its
        # position past a transaction's marker, which is no record to wait for)
        handed = consumer.handed_over.get(tp)
        return (
            Lag.IN_TRANSIT if handed is not None and (last is None or handed > last) else Lag.NONE
        )

    def note_handed(self, message: Any) -> None:
        """The agent took ``message``: no commit passes its offset until it is acked."""
        self.app.consumer.note_handed(message)

    def apply(self, plan: FetchPlan) -> None:
        """Apply the merge's fetch plan: these input topic-partitions are not fetched."""
        physical = self.names.physical
        self.app.consumer.held_back = frozenset(TP(physical(t), p) for t, p in plan.held_back)

    def describe(self, topic: str, partition: int, last: int | None) -> str:
        """Where an input stands, for the log:
        ``orders (end 120, fetched to 40, read 17, committed 3)``."""
        tp = TP(self.names.physical(topic), partition)
        consumer = self.app.consumer
        end = consumer.highwater(tp)
        position = consumer.fetch_position(tp)
        return (
            f"{topic} (end {end}, fetched to {position}, read {last}, "
            f"committed {self._committed(tp)})"
        )

    def _committed(self, tp: TP) -> int | None:
        return committed_offset(self.app.consumer, tp)

    def _assignment(self, consumer: Any) -> frozenset[TP]:
        generation = self.app.consumer_generation_id
        if self._assigned[0] != generation:
            self._assigned = (generation, frozenset(consumer.assignment()))
        return self._assigned[1]
