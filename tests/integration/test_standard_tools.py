"""Standard tools read every kind of topic (shared, tombstone, audit, DLQ) on the real broker and
the real registry: confluent-kafka's ``AvroDeserializer`` by ``<topic>-value`` subject (no code
of ours decodes there), Kafka's console consumer for keys and headers; both agree with
``purposegate dump``. A schema the registry refuses stops the worker before anything is sent."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from bench.lines import consent_line, order_line
from bench.workers import PURPOSEGATE, free_port, settings_env
from broker.clients import admin_client
from config.settings import Settings
from policy import topics
from policy.keys import keys_from_file
from policy.loader import load_policy
from tests.integration.kafka_io import TopicWatcher, produce_raw, read_topics
from tests.integration.streams_for_tests import codec, encode_lines, encode_unchecked
from wire import SchemaStore
from wire.headers import EVENT_ID, POLICY_VERSION
from wire.jsonvalues import to_json
from wire.registry import RegistryClient
from wire.topic_schemas import wire_schemas

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
MARKETING = "shared.septem-communications.marketing"
#: One topic of each kind: shared with a tombstone, a two-source shared topic, audit, DLQ.
READ = [MARKETING, "shared.septem-souken.product_development", topics.AUDIT, topics.DLQ]


@pytest.fixture
def confluent(settings: Settings, schema_registry_url: str) -> Settings:
    """The test's settings, writing the Confluent format to the session's registry."""
    env = {**settings_env(settings), "SCHEMA_REGISTRY_URL": schema_registry_url}
    return Settings.model_validate({**env, "PURPOSEGATE_WIRE_FORMAT": "confluent"})


def _confluent_read(settings: Settings, url: str, logical: str) -> dict[tuple[int, int], Any]:
    """(partition, offset) -> (key, headers, value) of every record, by confluent-kafka."""
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": url}))
    topic = settings.topic(logical)
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": topic,
            "enable.auto.commit": False,
        }
    )
    meta = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in meta])
    out: dict[tuple[int, int], Any] = {}
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < 3.0:
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        idle_since = time.monotonic()
        raw = message.value()
        value = None
        if raw is not None:
            value = deserialize(raw, SerializationContext(topic, MessageField.VALUE))
        headers = {k: v.decode() for k, v in message.headers() or []}
        out[(message.partition(), message.offset())] = (message.key().decode(), headers, value)
    consumer.close()
    return out


def _dump(settings: Settings, names: list[str]) -> list[dict[str, Any]]:
    env = {**os.environ, **settings_env(settings)}
    done = subprocess.run(
        [str(PURPOSEGATE), "dump", *names], env=env, capture_output=True, text=True, check=True
    )
    assert done.stderr == "", "dump is silent on stderr when it is not a terminal"
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_when_worker_runs_with_registry_then_standard_tools_read_every_topic_like_dump(
    confluent: Settings, schema_registry_url: str, start_worker: Any
) -> None:
    worker = start_worker(**settings_env(confluent))
    worker.wait_ready()
    # Subjects exist for every topic of the policy before any record is sent, each BACKWARD.
    registry = RegistryClient(schema_registry_url)
    for topic in wire_schemas(load_policy(), SchemaStore.load()):
        assert registry.compatibility(f"{confluent.topic(topic)}-value") == "BACKWARD", topic
    lines = [
        consent_line("c-1", "g1", "marketing", True, "2026-11-24T09:00:00Z"),
        order_line("c-1", "before", "2026-11-24T09:10:00Z"),
        consent_line("c-1", "w1", "marketing", False, "2026-11-24T09:20:00Z"),
        order_line("c-2", "bad", "2026-11-24T09:30:00Z").replace("placed", "teleported"),
    ]
    audit = TopicWatcher(confluent, [topics.AUDIT])
    try:
        # the last line breaks an input rule: written as a producer without the one door would
        for record in encode_unchecked(lines, codec()):
            produce_raw(confluent, [(record.topic, record.key, record.value)])
            time.sleep(0.2)  # one by one: the state change before the next event
        produce_raw(confluent, [(topics.ORDERS, b"c-3", b"not avro")])
        audit.wait_for(3, timeout=60)
    finally:
        audit.close()
    assert len(read_topics(confluent, [topics.DLQ], until=2, timeout=60)) == 2, worker.log_tail()

    dumped = _dump(confluent, READ)
    kinds: set[str] = set()
    for logical in READ:
        theirs = _confluent_read(confluent, schema_registry_url, logical)
        ours = {(d["partition"], d["offset"]): d for d in dumped if d["topic"] == logical}
        assert set(theirs) == set(ours) and ours, logical
        for position, (key, headers, value) in theirs.items():
            line = ours[position]
            assert (key, headers) == (line["key"], line["headers"])
            assert headers[POLICY_VERSION], "every record says its policy version"
            if value is None:
                kinds.add("tombstone")
                assert line["value"] is None and headers[EVENT_ID] == "w1"
                continue
            kinds.add({topics.AUDIT: "audit", topics.DLQ: "dlq"}.get(logical, "shared"))
            if logical == topics.DLQ:  # no event id: a bad record's values are unvalidated
                assert EVENT_ID not in headers, value["error_kind"]
            # dump shows a route's fields; a two-source topic's record has the other's as null
            shown = {k: v for k, v in to_json(value).items() if k in line["value"]}
            assert shown == line["value"], logical
            assert all(value[k] is None for k in value if k not in line["value"])
    assert kinds == {"shared", "tombstone", "audit", "dlq"}


def test_when_console_consumer_reads_a_shared_topic_then_it_shows_keys_and_headers(
    confluent: Settings, kafka_bootstrap: str, start_worker: Any
) -> None:
    worker = start_worker(**settings_env(confluent))
    worker.wait_ready()
    lines = [
        consent_line("c-7", "g7", "marketing", True, "2026-11-24T09:00:00Z"),
        order_line("c-7", "o7", "2026-11-24T09:10:00Z"),
    ]
    for record in encode_lines(lines, codec()):
        produce_raw(confluent, [(record.topic, record.key, record.value)])
        time.sleep(0.2)
    assert read_topics(confluent, [MARKETING], until=1, timeout=60), worker.log_tail()
    port = kafka_bootstrap.rsplit(":", 1)[1]
    done = subprocess.run(
        [str(REPO / "deploy" / "kafka" / "kafka.sh"), "consume", confluent.topic(MARKETING),
         "--max-messages", "1", "--timeout-ms", "30000"],
        env={**os.environ, "KAFKA_PORT": port}, capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    shown = done.stdout.decode(errors="replace")
    assert "purposegate-event-id:o7" in shown and "purposegate-purpose:marketing" in shown
    # the key: the recipient's subject id (contract §3), as UTF-8 text; never the customer id
    key = keys_from_file(confluent.pseudonym_keys_file).pseudonymiser("septem-communications")
    assert f"\t{key('c-7')}\t" in shown and "\tc-7\t" not in shown


def test_when_registry_refuses_a_topic_schema_then_worker_stops_before_sending_anything(
    confluent: Settings, schema_registry_url: str, tmp_path: Path
) -> None:
    # An older record under the subject that ours cannot read (BACKWARD): ours needs
    # event_time, which it lacks, with no default.
    topic = confluent.topic("shared.septem-cargo.fulfilment")
    old = {"type": "record", "name": "Old", "fields": [{"name": "event_id", "type": "string"}]}
    registry = RegistryClient(schema_registry_url)
    registry.set_compatibility(f"{topic}-value", "BACKWARD")
    registry.register(f"{topic}-value", json.dumps(old))
    env = {**os.environ, **settings_env(confluent), "PURPOSEGATE_WEB_PORT": str(free_port())}
    done = subprocess.run(
        [str(PURPOSEGATE), "worker"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert f"refused record SeptemCargoFulfilment for topic {topic}" in done.stderr
    assert "Traceback" not in done.stderr
    # Refused before the topics were even created: nothing can have been sent.
    admin = admin_client(confluent)
    try:
        assert [t for t in admin.list_topics() if t.startswith(confluent.topic_prefix)] == []
    finally:
        admin.close()
