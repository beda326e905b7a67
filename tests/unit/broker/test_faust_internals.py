"""Every use of Faust's and aiokafka's private internals (``broker.faust_internals``) against
the real library objects, no broker: the pinned versions, a behaviour test where the use can be
shown on the objects themselves, and for each upstream function a use relies on or a patch
replaces, a fingerprint of its source that fails when upstream changes it (then read the new
upstream code, adapt the use, and take the new fingerprint)."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import tomllib
from importlib import metadata
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.consumer.subscription_state import SubscriptionState
from aiokafka.structs import TopicPartition
from faust.types import TP

from broker import faust_internals
from broker.partitions import partition_for
from policy.errors import ConfigError
from tests.unit.layers import REPO


def source_of(where: str) -> str:
    """The source of ``module:Class.attribute`` (a function, method, property or cached
    property), as installed."""
    module, _, path = where.partition(":")
    found: Any = importlib.import_module(module)
    for part in path.split("."):
        found = (
            inspect.getattr_static(found, part) if isinstance(found, type) else getattr(found, part)
        )
    found = getattr(found, "fget", None) or getattr(found, "_cached_property__get", found)
    return inspect.getsource(inspect.unwrap(getattr(found, "__func__", found)))


def fingerprint(where: str) -> str:
    return hashlib.sha256(source_of(where).encode()).hexdigest()[:16]


@pytest.mark.parametrize(
    ("where", "pinned"),
    [
        # deciding: Faust's current event is the _current_event context variable
        ("faust.streams:current_event", "3b821f1a78d86a58"),
        # committed_offset, consumer_view: the private maps Faust's consumer keeps
        ("faust.transport.consumer:Consumer.__init__", "302410d59e6972d1"),
        # committed_offset: perform_seek fills _committed_offset (None: never committed)
        ("faust.transport.consumer:Consumer.perform_seek", "0e8c130ff4b0afd8"),
        # consumer.SnapshotConsumer overrides _getmany and _new_consumer_thread
        ("faust.transport.consumer:Consumer._getmany", "fea4952545b44cac"),
        ("faust.transport.drivers.aiokafka:Consumer._new_consumer_thread", "0870ec53dea75083"),
        # set_fetch_max_wait: ShortPollConsumerThread overrides _create_worker_consumer
        (
            "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread._create_worker_consumer",
            "c2701bfc3e6f6cad",
        ),
        # thread_consumer, getmany: the consumer thread's aiokafka consumer and its fetch
        (
            "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread._ensure_consumer",
            "ff4a4c693b7ec63f",
        ),
        ("faust.transport.drivers.aiokafka:AIOKafkaConsumerThread.getmany", "26fc5fc9f3b667e1"),
        # aiokafka_producer: Faust's producer service wraps one AIOKafkaProducer
        ("faust.transport.drivers.aiokafka:Producer._ensure_producer", "5592a4bbdf251325"),
        # start_fetcher: the app's fetcher service
        ("faust.app.base:App._fetcher", "2ee3393e3555711e"),
        # key_partitions, restore.BulkRestoreStore: the memory store's key -> partition notes
        ("faust.stores.memory:Store.__post_init__", "e59c82f3785458b2"),
        ("faust.stores.memory:Store.apply_changelog_batch", "71863e3cd727aac2"),
        # recovery.SeekFirstRecovery replaces on_recovery_completed (docs/upstream/)
        ("faust.tables.recovery:Recovery.on_recovery_completed", "6ef567acf072e46d"),
        # end_recovery, is_changelog, wait_or_stop: the recovery's own steps it calls
        ("faust.tables.recovery:Recovery._set_recovery_ended", "84badf3f2cfe0d02"),
        ("faust.tables.recovery:Recovery._is_changelog_tp", "453e8762c530ad44"),
        ("faust.tables.recovery:Recovery._wait", "ec7429b70176f8c6"),
        # recovery_service: recovery.TableManager replaces the recovery property
        ("faust.tables.manager:TableManager.recovery", "f0bf5de78b4c3d23"),
        # monitor_metrics: Faust's Prometheus monitor keeps its series in _metrics
        ("faust.sensors.prometheus:PrometheusMonitor.__init__", "c0d8ca8cca0a20a1"),
        # set_fetch_max_wait: aiokafka reads _fetch_max_wait_ms when the consumer starts
        ("aiokafka.consumer.consumer:AIOKafkaConsumer.start", "2f1ba70443327538"),
        # fetch_position: a partition's state keeps the position in _position
        ("aiokafka.consumer.subscription_state:TopicPartitionState.__init__", "f0b391da1b87af04"),
        ("aiokafka.consumer.subscription_state:Assignment.state_value", "183fea82ef48f3e6"),
        # load_topic_metadata: the client's set_topics asks for those topics' metadata
        ("aiokafka.client:AIOKafkaClient.set_topics", "9f9b55d6d8997834"),
        # partition_of: send() picks the partition with _partitioner
        ("aiokafka.producer.producer:AIOKafkaProducer.send", "08ce81263f439838"),
        # Accumulator: send() appends through add_message, which Accumulator.append mirrors
        (
            "aiokafka.producer.message_accumulator:MessageAccumulator.add_message",
            "56ff7e6c19185f83",
        ),
        (
            "aiokafka.producer.message_accumulator:MessageAccumulator._append_batch",
            "4762abfc42cbaa15",
        ),
    ],
)
def test_when_upstream_source_read_then_it_is_what_the_use_was_written_against(
    where: str, pinned: str
) -> None:
    assert fingerprint(where) == pinned, f"{where} changed upstream: review broker/faust_internals"


def test_when_pins_compared_then_internals_and_pyproject_agree() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    pins = dict(d.split("==") for d in project["project"]["dependencies"] if "==" in d)
    assert {name: pins[name] for name in faust_internals.PINNED} == faust_internals.PINNED


def test_when_the_installed_versions_are_the_pinned_ones_then_the_check_passes() -> None:
    faust_internals.check_versions()
    assert {p: metadata.version(p) for p in faust_internals.PINNED} == faust_internals.PINNED


@pytest.mark.parametrize(
    ("installed", "named"),
    [
        # another Faust
        ({"faust-streaming": "0.16.0", "aiokafka": "0.14.0"}, "faust-streaming 0.16.0"),
        # another aiokafka
        ({"faust-streaming": "0.15.3", "aiokafka": "0.12.0"}, "aiokafka 0.12.0"),
        # none at all
        ({"faust-streaming": "0.15.3"}, "aiokafka none is installed"),
    ],
)
def test_when_another_version_is_installed_then_start_up_stops_naming_it(
    installed: dict[str, str], named: str
) -> None:
    def version(package: str) -> str:
        if package not in installed:
            raise metadata.PackageNotFoundError(package)
        return installed[package]

    with pytest.raises(ConfigError, match=named):
        faust_internals.check_versions(version)


def test_when_deciding_then_faust_current_event_is_the_decided_one() -> None:
    class Event:
        pass

    event = Event()
    before = faust.current_event()
    with faust_internals.deciding(event):
        assert faust.current_event() is event
    assert faust.current_event() is before


async def test_when_a_partition_state_is_seeked_then_fetch_position_reads_it() -> None:
    class Client:
        _subscription = SubscriptionState()

    tp = TopicPartition("orders", 3)
    Client._subscription.assign_from_user({tp})
    assert faust_internals.fetch_position(Client(), tp) is None  # no position yet
    Client._subscription.seek(tp, 42)
    assert faust_internals.fetch_position(Client(), tp) == 42


async def test_when_a_key_is_partitioned_then_the_producer_agrees_with_murmur2() -> None:
    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1")
    try:
        for key in (b"C-000001", b"C-424242", b""):
            assert faust_internals.partition_of(producer, key, list(range(12))) == (
                partition_for(key, 12)
            )
    finally:
        await producer.stop()


async def test_when_the_long_poll_is_set_then_the_unstarted_consumer_holds_it() -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1", fetch_max_wait_ms=1500)
    faust_internals.set_fetch_max_wait(consumer, 100)
    assert consumer._fetch_max_wait_ms == 100
    assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in source_of(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.start"
    )


async def test_when_faust_consumer_built_then_committed_offsets_start_unknown() -> None:
    app = faust.App("internals-test", broker="kafka://127.0.0.1:1", autodiscover=False)
    tp = TP("orders", 0)
    assert faust_internals.committed_offset(app.consumer, tp) is None
    app.consumer._committed_offset[tp] = 17  # as perform_seek fills it
    assert faust_internals.committed_offset(app.consumer, tp) == 17
