"""Consumer lag: arithmetic, export, and that broker failures never escape nor leak data."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import pytest
from kafka import TopicPartition
from kafka.admin import OffsetSpec
from prometheus_client import CollectorRegistry, Gauge

from broker.lag import Lags
from config.settings import Settings
from tests.unit.broker.lags import ThreadedLagCollector, compute_lags

TP = TopicPartition


@pytest.mark.parametrize(
    ("committed", "ends", "prefix", "expected"),
    [
        # plain difference per partition
        ({TP("orders", 0): 90, TP("orders", 1): 5}, {TP("orders", 0): 100, TP("orders", 1): 5},
         "", {("orders", 0): 10, ("orders", 1): 0}),
        # the test/deployment prefix is dropped from the label
        ({TP("t1.consents", 2): 0}, {TP("t1.consents", 2): 7}, "t1.", {("consents", 2): 7}),
        # a commit that landed after the end offsets were read never shows negative lag
        ({TP("orders", 0): 101}, {TP("orders", 0): 100}, "", {("orders", 0): 0}),
        # no end offset known: no value rather than a wrong one
        ({TP("orders", 0): 1}, {}, "", {}),
        # never committed (-1) and not a partition of the covered topics: no series
        ({TP("orders", 0): -1}, {TP("orders", 0): 100}, "", {}),
    ],
)  # fmt: skip
def test_when_offsets_known_then_lag_is_end_minus_committed(
    committed: dict[TopicPartition, int],
    ends: dict[TopicPartition, int],
    prefix: str,
    expected: Lags,
) -> None:
    assert compute_lags(committed, ends, prefix) == expected


@pytest.mark.parametrize(
    ("committed", "starts", "expected"),
    [
        # never committed: counted from the earliest offset (where the worker starts reading)
        ({}, {TP("orders", 1): 0}, {("orders", 1): 100}),
        # ... which retention may have moved on
        ({}, {TP("orders", 1): 40}, {("orders", 1): 60}),
        # a commit wins over the earliest offset
        ({TP("orders", 1): 95}, {TP("orders", 1): 0}, {("orders", 1): 5}),
        # a commit of -1 is no commit
        ({TP("orders", 1): -1}, {TP("orders", 1): 0}, {("orders", 1): 100}),
    ],
)  # fmt: skip
def test_when_a_partition_was_never_committed_then_its_lag_counts_from_the_start(
    committed: dict[TopicPartition, int], starts: dict[TopicPartition, int], expected: Lags
) -> None:
    assert compute_lags(committed, {TP("orders", 1): 100}, "", starts) == expected


@dataclass
class Meta:
    offset: int


class FakeAdmin:
    """Answers like kafka-python's KafkaAdminClient, or raises what it is told to."""

    def __init__(self, committed: dict[TopicPartition, int], ends: dict[TopicPartition, int]):
        self.committed = committed
        self.ends = ends
        self.starts: dict[TopicPartition, int] = {}
        self.fail: Exception | None = None
        self.closed = False

    def describe_topics(self, topics: list[str]) -> list[dict[str, Any]]:
        return [
            {"name": t, "partitions": [{"partition_index": tp.partition} for tp in self.ends
                                       if tp.topic == t]}
            for t in topics
        ]  # fmt: skip

    def list_group_offsets(self, group_id: str) -> dict[str, dict[TopicPartition, Meta]]:
        if self.fail:
            raise self.fail
        return {group_id: {tp: Meta(o) for tp, o in self.committed.items()}}

    def list_partition_offsets(
        self, specs: dict[TopicPartition, Any]
    ) -> dict[TopicPartition, Meta]:
        return {
            tp: Meta(self.starts.get(tp, 0) if spec == OffsetSpec.EARLIEST else self.ends[tp])
            for tp, spec in specs.items()
        }

    def close(self) -> None:
        self.closed = True


def _collector(
    admin: FakeAdmin, topics: tuple[str, ...] = ()
) -> tuple[ThreadedLagCollector, CollectorRegistry]:
    registry = CollectorRegistry()
    gauge = Gauge("purposegate_consumer_lag", "lag", ["topic", "partition"], registry=registry)
    settings = Settings.model_validate({"PURPOSEGATE_TOPIC_PREFIX": "t1."})
    collector = ThreadedLagCollector(
        settings, "group", topics=topics, gauge=gauge, admin_factory=lambda: admin
    )
    return collector, registry


def _lag(registry: CollectorRegistry, topic: str, partition: int) -> float | None:
    return registry.get_sample_value(
        "purposegate_consumer_lag", {"topic": topic, "partition": str(partition)}
    )


@pytest.mark.parametrize(
    ("failure", "logged"),
    [
        (OSError("connection refused by 10.0.0.7"), "OSError"),  # broker gone
        (KeyError("customer_id=C-0001"), "KeyError"),  # any fault: only its type is logged
    ],
)
def test_when_broker_fails_then_last_values_stay_and_nothing_raises(
    failure: Exception, logged: str, caplog: pytest.LogCaptureFixture
) -> None:
    admin = FakeAdmin({TP("t1.orders", 0): 40}, {TP("t1.orders", 0): 100})
    collector, registry = _collector(admin)
    assert collector.refresh() is True
    admin.fail = failure
    with caplog.at_level(logging.WARNING, logger="broker.lag"):
        assert collector.refresh() is False
    assert _lag(registry, "orders", 0) == 60
    assert admin.closed  # a broken client is replaced on the next refresh
    assert logged in caplog.text
    assert str(failure.args[0]) not in caplog.text


@pytest.mark.parametrize(
    ("second_round", "expected"),
    [
        # partition 1 no longer committed: its series goes away
        ({TP("t1.orders", 0): 100}, {0: 0.0, 1: None}),
        # both still there: both updated
        ({TP("t1.orders", 0): 99, TP("t1.orders", 1): 1}, {0: 1.0, 1: 9.0}),
    ],
)
def test_when_refreshed_then_gauge_follows_the_group(
    second_round: dict[TopicPartition, int], expected: dict[int, float | None]
) -> None:
    ends = {TP("t1.orders", 0): 100, TP("t1.orders", 1): 10}
    admin = FakeAdmin({TP("t1.orders", 0): 50, TP("t1.orders", 1): 0}, ends)
    collector, registry = _collector(admin)
    collector.refresh()
    admin.committed = second_round
    collector.refresh()
    assert {p: _lag(registry, "orders", p) for p in expected} == expected


async def test_when_refreshed_from_the_event_loop_then_it_runs_off_loop() -> None:
    admin = FakeAdmin({TP("t1.inquiries", 3): 1}, {TP("t1.inquiries", 3): 4})
    collector, registry = _collector(admin)
    assert await collector.refresh_async() is True
    assert _lag(registry, "inquiries", 3) == 3


def test_when_thread_started_then_it_refreshes_and_stops() -> None:
    admin = FakeAdmin({TP("t1.orders", 0): 1}, {TP("t1.orders", 0): 2})
    collector, registry = _collector(admin)
    collector.start_thread(interval_s=0.01)
    try:
        for _ in range(200):
            if _lag(registry, "orders", 0) == 1:
                break
            time.sleep(0.01)
    finally:
        collector.stop()
    assert _lag(registry, "orders", 0) == 1
    assert admin.closed


def test_when_input_topics_are_covered_then_never_committed_partitions_have_lag_too() -> None:
    ends = {TP("t1.orders", 0): 100, TP("t1.orders", 1): 10, TP("t1.consents", 0): 3}
    admin = FakeAdmin({TP("t1.orders", 0): 90}, ends)
    admin.starts = {TP("t1.orders", 1): 2}
    collector, registry = _collector(admin, topics=("orders", "consents"))
    assert collector.refresh() is True
    lags = {
        (t, p): _lag(registry, t, p) for t, p in [("orders", 0), ("orders", 1), ("consents", 0)]
    }
    # committed: end - committed; never committed: end - earliest
    assert lags == {("orders", 0): 10, ("orders", 1): 8, ("consents", 0): 3}
    assert collector.last_offsets[("orders", 1)].committed is None
    assert collector.last_success is not None
