"""Where an input partition's records past the last one read are (``InputOffsets.lagging``):
on the broker, in transit through the worker, not known yet, or nowhere."""

from __future__ import annotations

from typing import Any

import pytest
from faust.types import TP

from agents.input_offsets import InputOffsets
from agents.merge import Lag
from broker.names import TopicNames
from config.settings import Settings

TOPIC = TP("p.orders", 0)


class FakeConsumer:
    def __init__(self, end: int | None, position: int | None, handed: int | None) -> None:
        self.end = end
        #: aiokafka's position when its last fetch returned (its live one may be past it)
        self.handed_position = {} if position is None else {TOPIC: position}
        self.handed_over = {} if handed is None else {TOPIC: handed}
        self._committed_offset: dict[TP, int] = {}

    def assignment(self) -> set[TP]:
        return {TOPIC}

    def highwater(self, tp: TP) -> int | None:
        return self.end


class FakeApp:
    consumer_generation_id = 1

    def __init__(self, consumer: FakeConsumer) -> None:
        self.consumer = consumer


@pytest.mark.parametrize(
    ("end", "position", "handed", "last", "lag"),
    [
        # no fetch answered yet: the log end is not known
        (None, None, None, None, Lag.UNKNOWN),
        # the broker holds records past what the consumer handed over
        (10, 4, 3, 3, Lag.ON_BROKER),
        # everything fetched, records 4..9 handed over, the merge read to 3: in transit
        (10, 10, 9, 3, Lag.IN_TRANSIT),
        # everything handed over and read: nothing to wait for
        (10, 10, 9, 9, Lag.NONE),
        # the position is past a transaction's commit marker, every record read: no lag
        (11, 11, 9, 9, Lag.NONE),
        # nothing read by the merge yet, records handed over: in transit
        (10, 10, 9, None, Lag.IN_TRANSIT),
        # a fetch is handing records over (aiokafka's live position already at the end): as
        # of the last hand-over they are on the broker
        (61, 0, None, None, Lag.ON_BROKER),
        # no fetch of it returned since the seek: where its records are is not known yet
        (61, None, None, None, Lag.UNKNOWN),
    ],
)
def test_when_offsets_are_known_then_the_lag_says_where_the_records_are(
    end: int | None, position: int | None, handed: int | None, last: int | None, lag: Lag
) -> None:
    settings = Settings.model_validate({"PURPOSEGATE_TOPIC_PREFIX": "p."})
    app: Any = FakeApp(FakeConsumer(end, position, handed))
    offsets = InputOffsets(app, TopicNames(settings))
    assert offsets.lagging("orders", 0, last) is lag
