"""A refusal for ever is counted per input across workers, then the input goes to the DLQ
(``agents.refusals``): what is counted, when an input is due, what still goes in its place,
and that the stop waits for the count to reach the changelog."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aiokafka.errors import (
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    TopicAuthorizationFailedError,
)

from agents.consent_table import FaustStates
from agents.delivery import Deliveries
from agents.refusals import (
    REFUSED_KEY,
    HeldTopic,
    Refusal,
    RefusalCounter,
    Refusals,
    held_refusal,
    in_place_of,
)
from agents.runtime import Runtime
from flow.path import NoticeOf, Outgoing
from tests.unit.agents.pipeline_fakes import FakeTable, runtime

CHANGELOG = "app-consent-state-changelog"
SHARED = "shared.affectus.marketing"


@pytest.mark.parametrize(
    ("counted_before", "again", "topic", "attempts", "topics"),
    [
        (None, False, "a", 1, ("a",)),  # the first refusal of an input
        (Refusal(1, ("a",), "E"), False, "a", 2, ("a",)),  # a later worker: one more
        (Refusal(1, ("a",), "E"), True, "b", 1, ("a", "b")),  # the same worker: a topic more
        (Refusal(2, ("a",), "E"), False, "b", 3, ("a", "b")),
    ],
)
def test_when_an_input_is_refused_then_it_counts_once_per_worker(
    counted_before: Refusal | None, again: bool, topic: str, attempts: int, topics: tuple[str, ...]
) -> None:
    refusals = Refusals({} if counted_before is None else {("orders", 7): counted_before})
    counted = refusals.count("orders", 7, topic, "MessageSizeTooLargeError", again)
    assert (counted.attempts, counted.topics) == (attempts, topics)
    assert Refusals.from_bytes(refusals.to_bytes()).by_input == {("orders", 7): counted}


@pytest.mark.parametrize(
    ("attempts_so_far", "limit", "due"),
    [(1, 3, False), (2, 3, False), (3, 3, True), (4, 3, True), (1, 1, True), (None, 1, False)],
)
def test_when_an_input_was_refused_as_often_as_allowed_then_it_is_due_for_the_dlq(
    attempts_so_far: int | None, limit: int, due: bool
) -> None:
    refusals = Refusals()
    if attempts_so_far is not None:
        refusals.by_input[("orders", 7)] = Refusal(attempts_so_far, ("a",), "E")
    assert (refusals.due("orders", 7, limit) is not None) is due
    assert refusals.due("orders", 8, limit) is None  # another offset
    assert refusals.due("campaign", 7, limit) is None  # the same offset of another topic


def test_when_the_last_count_is_settled_then_the_key_is_deleted() -> None:
    refusals = Refusals({("orders", 7): Refusal(3, ("a",), "E")})
    refusals.settle("orders", 7)
    assert refusals.to_bytes() is None
    assert Refusals.from_bytes(None).by_input == {}


def tombstone(topic: str) -> Outgoing:
    return Outgoing(topic, b"k", None, [], notice=NoticeOf("use_suspended", "e1"))


@pytest.mark.parametrize(
    ("records", "refused", "kept"),
    [
        ([Outgoing("shared.x.m", b"k", b"v", [])], ("shared.x.m",), []),
        ([Outgoing("shared.y.m", b"k", b"v", [])], ("shared.x.m",), []),  # nothing forwarded
        ([Outgoing("purposegate.audit", b"k", b"v", [])], ("shared.x.m",), []),  # nor audited
        ([tombstone("shared.x.m"), tombstone("shared.y.m")], ("shared.x.m",), ["shared.y.m"]),
        ([tombstone("shared.y.m")], ("purposegate.audit",), ["shared.y.m"]),
    ],
)
def test_when_an_input_goes_to_the_dlq_then_only_its_tombstones_to_other_topics_still_go(
    records: list[Outgoing], refused: tuple[str, ...], kept: list[str]
) -> None:
    assert [r.topic for r in in_place_of(records, refused)] == kept


class Table:
    """The consent table's keys of the partitions' own, and the changelog records sent."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes | None] = {}
        self.sent: list[Outgoing] = []
        self.delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def read(self, partition: int) -> Refusals:
        return Refusals.from_bytes(self.data.get(REFUSED_KEY % partition))

    def write(self, partition: int, key: bytes, value: bytes | None) -> Outgoing:
        self.data[key] = value
        return Outgoing(CHANGELOG, key, value, [], partition=partition)

    async def send(self, record: Outgoing) -> asyncio.Future[Any]:
        self.sent.append(record)
        return self.delivery


def counter(table: Table) -> RefusalCounter:
    return RefusalCounter(
        table.read, table.write, table.send, lambda t: t.removeprefix("p."), lambda: CHANGELOG
    )


def message(offset: int, partition: int = 1, topic: str = "p.orders") -> Any:
    return SimpleNamespace(topic=topic, partition=partition, offset=offset)


@pytest.mark.parametrize(
    ("error", "topic", "counted"),
    [
        (MessageSizeTooLargeError(), SHARED, True),  # too large for the topic, for ever
        (TopicAuthorizationFailedError(), SHARED, True),  # not allowed to write it
        (NotLeaderForPartitionError(), SHARED, False),  # retriable: the broker moves
        (KafkaTimeoutError(), SHARED, False),  # no answer: the broker is away
        (None, SHARED, False),  # the producer stopped (a cancelled batch)
        (MessageSizeTooLargeError(), CHANGELOG, False),  # the state could not be kept
    ],
)
async def test_when_a_batch_is_refused_then_only_a_refusal_for_ever_is_counted(
    error: BaseException | None, topic: str, counted: bool
) -> None:
    table = Table()
    refusals = counter(table)
    refusals.count([message(7), message(8), message(7)], topic, error)
    await asyncio.sleep(0)  # the changelog record is handed over
    assert bool(table.sent) is counted
    assert refusals.counting() is counted
    if counted:
        ((record,),) = [table.sent]
        assert (record.topic, record.partition, record.key) == (CHANGELOG, 1, REFUSED_KEY % 1)
        assert table.read(1).by_input == {
            ("orders", 7): Refusal(1, (SHARED,), type(error).__name__),
            ("orders", 8): Refusal(1, (SHARED,), type(error).__name__),
        }


async def test_when_one_worker_sees_an_input_refused_twice_then_it_counts_once() -> None:
    table = Table()
    refusals = counter(table)
    refusals.count([message(7)], "shared.a.m", MessageSizeTooLargeError())
    refusals.count([message(7), message(9, partition=2)], "shared.b.m", MessageSizeTooLargeError())
    assert table.read(1).by_input[("orders", 7)].attempts == 1
    assert table.read(1).by_input[("orders", 7)].topics == ("shared.a.m", "shared.b.m")
    assert table.read(2).by_input[("orders", 9)].attempts == 1
    refusals = counter(table)  # the next worker
    refusals.count([message(7)], "shared.a.m", MessageSizeTooLargeError())
    assert table.read(1).by_input[("orders", 7)].attempts == 2


async def test_when_a_count_is_written_then_the_wait_ends_once_it_is_delivered() -> None:
    table = Table()
    refusals = counter(table)
    refusals.count([message(7)], SHARED, MessageSizeTooLargeError())
    waiting = asyncio.ensure_future(refusals.written())
    await asyncio.sleep(0.01)
    assert not waiting.done()  # the stop waits for the changelog record
    table.delivery.set_result(None)
    await asyncio.wait_for(waiting, 1)


async def test_when_a_count_cannot_be_delivered_then_the_wait_ends_at_its_timeout() -> None:
    table = Table()
    refusals = counter(table)
    refusals.count([message(7)], SHARED, MessageSizeTooLargeError())
    await asyncio.wait_for(refusals.written(timeout=0.01), 1)  # logged, not raised


async def test_when_a_refused_batch_stops_the_worker_then_the_stop_waits_for_the_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("agents.delivery.forget_in_progress", lambda app, messages: None)
    shared = runtime()
    app = cast(Any, SimpleNamespace(monitor=None, should_stop=False))
    rt = Runtime(shared.settings, shared.compiled, shared.codec, app=app)
    stopped: list[BaseException] = []
    rt.stop_failed = stopped.append  # type: ignore[method-assign]
    deliveries = Deliveries(rt)
    table = Table()
    deliveries.refusals = counter(table)
    ticket = deliveries.acks.track(("p.orders", 1), SimpleNamespace(message=message(7)), 1)
    batch: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    batch.set_exception(MessageSizeTooLargeError())
    deliveries.batch_delivered([ticket], 0.0, SHARED, batch)
    await asyncio.sleep(0.01)
    assert deliveries.failed and not stopped  # not before the count is on the changelog
    table.delivery.set_result(None)
    await asyncio.sleep(0.01)
    assert len(stopped) == 1 and isinstance(stopped[0], MessageSizeTooLargeError)
    assert table.read(1).by_input[("orders", 7)].attempts == 1


def test_when_counts_are_written_to_the_consent_table_then_a_new_worker_reads_them() -> None:
    table = FakeTable()
    states = FaustStates(table)
    assert states.refusals(2).by_input == {}
    counted = Refusals({("orders", 7): Refusal(1, (SHARED,), "MessageSizeTooLargeError")})
    record = states.write_now(2, REFUSED_KEY % 2, counted.to_bytes())
    assert (record.topic, record.partition) == ("app-consent-state-changelog", 2)
    assert states.deferred == []  # sent at once, not after any decision's outputs
    assert FaustStates(table).refusals(2) == counted  # as the next worker reads it
    assert states.subjects() == 0  # a partition's own key, not a subject
    counted.settle("orders", 7)
    write = states.put_refusals(2, counted)  # settled with the decision's state
    assert (write.key, write.value) == (REFUSED_KEY % 2, None)
    assert FaustStates(table).refusals(2).by_input == {}


async def test_when_a_topic_stops_a_worker_then_the_run_counts_on_every_partition_once() -> None:
    table = Table()
    refusals = RefusalCounter(
        table.read, table.write, table.send, lambda t: t, lambda: CHANGELOG, lambda: [0, 1, 2],
        lambda: 500.0,
    )  # fmt: skip
    refusals.count([message(7, partition=1)], SHARED, MessageSizeTooLargeError())
    refusals.count([message(8, partition=1)], SHARED, MessageSizeTooLargeError())
    runs = {p: table.read(p).by_topic[SHARED] for p in (0, 1, 2)}
    assert {(h.runs, h.since_s) for h in runs.values()} == {(1, 500.0)}  # one run, not two
    counter_of_next_worker = RefusalCounter(
        table.read, table.write, table.send, lambda t: t, lambda: CHANGELOG, lambda: [0],
        lambda: 900.0,
    )  # fmt: skip
    counter_of_next_worker.count([message(9, partition=0)], SHARED, MessageSizeTooLargeError())
    assert table.read(0).by_topic[SHARED] == HeldTopic(2, "MessageSizeTooLargeError", 900.0)
    assert table.read(1).by_topic[SHARED].runs == 1  # not this worker's partition


@pytest.mark.parametrize(
    ("runs", "age_s", "held"),
    [
        (1, 0.0, False),  # one stopped run: its inputs are tried again
        (2, 0.0, True),  # as many as the attempts: held
        (2, 599.0, True),
        (2, 600.0, False),  # the hold is over: tried again (a refusal holds it again)
        (5, 10.0, True),
    ],
)
def test_when_a_topic_stopped_as_many_runs_as_the_attempts_then_it_is_held_for_a_while(
    runs: int, age_s: float, held: bool
) -> None:
    refusals = Refusals(by_topic={SHARED: HeldTopic(runs, "E", 1_000.0)})
    assert (SHARED in refusals.held(2, 600.0, 1_000.0 + age_s)) is held


@pytest.mark.parametrize(
    ("records", "dead_lettered"),
    [
        ([Outgoing(SHARED, b"k", b"v", [])], True),  # a record to the held topic
        ([tombstone(SHARED)], True),  # a tombstone there too (the others still go)
        ([Outgoing("shared.y.m", b"k", b"v", [])], False),  # nothing there: as usual
        ([], False),
    ],
)
def test_when_a_topic_is_held_then_an_input_with_a_record_there_goes_to_the_dlq(
    records: list[Outgoing], dead_lettered: bool
) -> None:
    refusal = held_refusal(records, {SHARED: HeldTopic(2, "E", 0.0)})
    assert (refusal is not None) is dead_lettered
    if refusal is not None:
        assert refusal.whole_topic and refusal.topics == (SHARED,)
