"""Every use of Faust's and aiokafka's private internals, in one place, and the check that the
installed versions are the ones these uses were written against.

Faust (faust-streaming) and aiokafka keep some of what the worker needs private: the *current
event* Faust's tables take a write's partition from, the committed offsets Faust's consumer
knows, aiokafka's fetch position, long-poll and topic metadata, its producer's partitioner and
batch accumulator. Each reach is one small function or class below, written against the pinned
versions (:data:`PINNED`, the same pins as ``pyproject.toml``); :func:`check_versions` stops the
worker at start-up when others are installed, and ``tests/unit/broker/test_faust_internals.py``
holds one test per use against the real library objects, which fails when upstream changes what
it relies on. The classes that patch Faust by subclassing (``broker/recovery.py``,
``broker/consumer.py``, ``broker/restore.py``; docs/upstream/) override its hooks and reach
nothing private themselves; the upstream code they replace is pinned by the same tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import weakref
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from importlib import metadata
from typing import Any, Final, Protocol

import faust.streams
from aiokafka.errors import ProducerClosed
from aiokafka.structs import TopicPartition
from faust.types import TP

from policy.errors import ConfigError

#: The versions every use below was written against (``pyproject.toml`` pins the same).
PINNED: Final[Mapping[str, str]] = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0"}


def check_versions(installed: Callable[[str], str] = metadata.version) -> None:
    """Refuse to start with other versions of Faust or aiokafka than :data:`PINNED`
    (``ConfigError`` naming each, read with ``installed``)."""
    wrong = []
    for package, pinned in PINNED.items():
        try:
            found = installed(package)
        except metadata.PackageNotFoundError:
            found = "none"
        if found != pinned:
            wrong.append(f"{package} {found} is installed, {pinned} is pinned")
    if wrong:
        raise ConfigError(
            "; ".join(wrong) + ": broker/faust_internals.py reaches into these versions' "
            "private internals (reinstall with pip install -e ., or review every use there)"
        )


# --- Faust ---------------------------------------------------------------------------------


@contextlib.contextmanager
def deciding(event: Any) -> Iterator[None]:
    """Make ``event`` Faust's *current event* while it is decided: Faust's tables (and its
    RocksDB store) take the partition of a write from it, which the stream sets to the last
    record read; with the event-time merge that is usually another record."""
    token = faust.streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        faust.streams._current_event.reset(token)


def committed_offset(consumer: Any, tp: TP) -> int | None:
    """The committed offset Faust's consumer knows for ``tp`` (None: never committed, or 0)."""
    committed: int | None = getattr(consumer, "_committed_offset", {}).get(tp)
    return committed


async def start_fetcher(app: Any) -> None:
    """Start Faust's fetcher service if it is not running (what its recovery does last)."""
    await app._fetcher.maybe_start()


def key_partitions(store: Any) -> MutableMapping[Any, int] | None:
    """A Faust memory store's key → partition notes (None: a store that keeps none)."""
    noted: MutableMapping[Any, int] | None = getattr(store, "_key_partition", None)
    return noted


def thread_consumer(consumer: Any) -> Any:
    """The aiokafka consumer inside Faust's consumer thread (started on first use)."""
    return consumer._thread._ensure_consumer()


async def getmany(consumer: Any, partitions: Any, timeout: float) -> Any:
    """One fetch through Faust's consumer thread (``partitions`` None: the active ones)."""
    return await consumer._thread.getmany(partitions, timeout)


def end_recovery(recovery: Any) -> None:
    """Mark Faust's table recovery ended (what its ``on_recovery_completed`` does first)."""
    recovery._set_recovery_ended()


def is_changelog(recovery: Any, tp: TP) -> bool:
    """Whether ``tp`` is a table's changelog partition, as Faust's recovery tells them apart."""
    changelog: bool = recovery._is_changelog_tp(tp)
    return changelog


async def wait_or_stop(recovery: Any, coro: Any, timeout: float) -> None:
    """Await ``coro`` as Faust's recovery awaits its own steps: given up when the service stops
    or a new recovery is signalled (Faust's ``Recovery._wait``)."""
    await recovery._wait(coro, timeout=timeout)


def recovery_service(manager: Any, recovery_class: type[Any]) -> Any:
    """Faust's table manager's recovery service, built once as ``recovery_class`` (what its
    ``recovery`` property does with Faust's own class)."""
    if manager._recovery is None:
        manager._recovery = recovery_class(
            manager.app, manager, beacon=manager.beacon, loop=manager.loop
        )
    return manager._recovery


def monitor_metrics(monitor: Any) -> Any:
    """The ``FaustMetrics`` of Faust's Prometheus monitor (its series)."""
    return monitor._metrics


def aiokafka_producer(producer: Any) -> Any:
    """The started aiokafka producer inside Faust's producer service."""
    return producer._ensure_producer()


# --- aiokafka --------------------------------------------------------------------------------


def set_fetch_max_wait(consumer: Any, ms: int) -> None:
    """The fetch long-poll of an aiokafka consumer not started yet (read when it starts)."""
    consumer._fetch_max_wait_ms = ms


def fetch_position(consumer: Any, tp: TopicPartition) -> int | None:
    """aiokafka's position for ``tp`` (the next offset it hands over), read from its
    subscription state as Faust's ``verify_event_path`` does; None when unknown. One read of
    the private field: the ``position`` property asserts a valid position, which the consumer's
    thread may take away between two reads (an offset reset)."""
    state = consumer._subscription.subscription.assignment.state_value(tp)
    position: int | None = None if state is None else state._position
    return position


async def load_topic_metadata(consumer: Any, topic: str) -> None:
    """Ask for one topic's metadata: an aiokafka consumer tracks only the topics it reads, and
    no public call asks (kafka-python's ``partitions_for_topic`` does the same)."""
    await consumer._client.set_topics([topic])


def partition_of(producer: Any, key: bytes, partitions: Sequence[int]) -> int:
    """The partition ``producer.send()`` would pick for ``key``: the producer's own
    partitioner over ``partitions`` (all of them available)."""
    found: int = producer._partitioner(key, partitions, partitions)
    return found


class Record(Protocol):
    """What :class:`Accumulator` appends (``agents.runtime.Outgoing``)."""

    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


class _Delivered:
    """Stands in for aiokafka's per-record future: already done, so the batch skips it."""

    __slots__ = ()

    def done(self) -> bool:
        return True


_NO_FUTURE: Final = _Delivered()


class Accumulator:
    """aiokafka's message accumulator: append records to a topic-partition's open batch."""

    def __init__(self, producer: Any) -> None:
        self._acc = producer._message_accumulator

    async def append(
        self, tp: TopicPartition, record: Record, timestamp_ms: int | None, own: bool = False
    ) -> tuple[Any, Any]:
        """Append a record to the topic-partition's open batch; when it is full, wait until the
        sender has taken it (as ``send()`` does), so that a topic-partition never has more than
        one batch waiting: the next request carries every batch queued before it. Returns the
        batch the record went into and, when ``own``, the record's own future (its
        ``RecordMetadata``: partition and offset), else a done stand-in."""
        acc = self._acc
        args = (record.key, record.value, timestamp_ms, _own_future if own else _no_future)
        while True:
            if acc._closed:
                raise ProducerClosed()
            if acc._exception is not None:
                raise copy.copy(acc._exception)
            queued = acc._batches.get(tp)
            if not queued:
                batch = acc._append_batch(acc.create_builder(), tp)  # an empty batch takes any
                return batch, batch.append(*args, headers=record.headers)
            future = queued[-1].append(*args, headers=record.headers)
            if future is not None:
                return queued[-1], future
            await queued[-1].wait_drain()  # full: the sender takes it first


def _no_future() -> _Delivered:
    """``MessageBatch.append``'s future factory: the one done stand-in, no allocation."""
    return _NO_FUTURE


def _own_future() -> asyncio.Future[Any]:
    """``MessageBatch.append``'s future factory for a record whose offset is wanted."""
    return asyncio.get_running_loop().create_future()


# --- the stall report -------------------------------------------------------------------


def consumer_view(app: Any, topic: str, partition: int) -> str:
    """Faust's and aiokafka's state of one partition, for the stall report (private
    attributes of both libraries, read as they are at the pinned versions: best effort)."""
    try:
        consumer = app.consumer
        tp = next(t for t in consumer.assignment() if (t.topic, t.partition) == (topic, partition))
        client = consumer._thread._consumer
        state = client._subscription.subscription.assignment.state_value(tp)
        position = state.position if state is not None and state.has_valid_position else None
        gaps = [(i.begin, i.end) for i in sorted(consumer._gap.get(tp) or [])]
        fetch = "active" if tp in (consumer._active_partitions or set()) else "paused"
        if tp in getattr(consumer, "held_back", ()):
            fetch += ", held back (its merge queue runs ahead, or the merge awaits others)"
        queues = {
            "+".join(c.topics): c.queue.qsize()
            for c in list(app.topics._topics)
            if topic in getattr(c, "topics", ())
        }
        fetcher = client._fetcher
        buffered = fetcher._records.get(state_tp(tp))
        aio_buffer = "none" if buffered is None else type(buffered).__name__
        flags = sorted(getattr(consumer.diag, "flags", ()))
        return (
            f"position={position} highwater={client.highwater(tp)} aiokafka_buffer={aio_buffer} "
            f"fetch_in_flight={sorted(fetcher._in_flight)} consumer_flags={flags} "
            f"commit_in_progress={consumer._commit_fut is not None} "
            f"producer_batches={producer_batches(app)} "
            f"committed={consumer._committed_offset.get(tp)} read={consumer._read_offset.get(tp)} "
            f"acked_pending={len(consumer._acked.get(tp) or [])} gaps={gaps} fetch={fetch} "
            f"queues={queues}"
        )
    except Exception as exc:  # noqa: BLE001 - a report must never fail the watchdog
        return f"unavailable ({type(exc).__name__})"


def producer_batches(app: Any) -> int | str:
    """Batches waiting in the producer's accumulator (a flush waits for every one of them)."""
    try:
        batches = aiokafka_producer(app.producer)._message_accumulator._batches
        return sum(len(queue) for queue in batches.values())
    except Exception as exc:  # noqa: BLE001 - a report must never fail the watchdog
        return f"unavailable ({type(exc).__name__})"


def state_tp(tp: Any) -> Any:
    """aiokafka's own TopicPartition for Faust's TP."""
    return TopicPartition(tp.topic, tp.partition)
