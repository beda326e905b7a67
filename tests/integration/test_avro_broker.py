"""Every wire schema round-trips through the real broker, in each wire format that can run here."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

import pytest
from fastavro import parse_schema, schemaless_writer
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests.integration.avro_topics import create_topics, settings_for
from tests.unit.wire.samples import sample
from wire import Codec, Decoded, DecodeError, SchemaStore
from wire.registry import RegistryClient, SchemaRegistryError

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
STORE = SchemaStore.load()
SCHEMAS = sorted(STORE, key=lambda s: s.name)


def _round_trip(bootstrap: str, prefix: str, codec: Codec) -> list[Decoded]:
    settings = settings_for(bootstrap, prefix)
    topic = settings.topic("avro-roundtrip")
    create_topics(settings, ["avro-roundtrip"], partitions=1)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for schema in SCHEMAS:
        producer.send(
            topic, key=schema.name.encode(), value=codec.encode(schema.name, sample(schema))
        )
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    received: list[bytes] = []
    while len(received) < len(SCHEMAS):
        batch = consumer.poll(timeout_ms=10_000)
        assert batch, "records did not come back from the broker"
        received.extend(r.value for rs in batch.values() for r in rs)
    consumer.close()
    decoded = [codec.decode(raw) for raw in received]
    assert all(isinstance(d, Decoded) for d in decoded)
    return decoded  # type: ignore[return-value]


def test_when_single_object_records_sent_through_broker_then_all_decode_equal(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    decoded = _round_trip(kafka_bootstrap, topic_prefix, Codec(STORE))
    assert decoded == [Decoded(s.name, sample(s)) for s in SCHEMAS]


def test_when_confluent_records_sent_through_broker_then_all_decode_equal(
    kafka_bootstrap: str, topic_prefix: str, schema_registry_url: str
) -> None:
    registry = RegistryClient(schema_registry_url)
    writer = Codec(STORE, wire_format="confluent", registry=registry)
    # a second codec with an empty id cache: it must fetch the writer schemas by id
    reader = Codec(STORE, wire_format="confluent", registry=RegistryClient(schema_registry_url))
    decoded = _round_trip(kafka_bootstrap, topic_prefix, writer)
    assert decoded == [Decoded(s.name, sample(s)) for s in SCHEMAS]
    raw = writer.encode("OrderEvent", sample(STORE.get("OrderEvent")))
    assert raw[0] == 0
    assert reader.decode(raw) == Decoded("OrderEvent", sample(STORE.get("OrderEvent")))
    with pytest.raises(SchemaRegistryError):
        registry.schema_text(987_654_321)


def test_when_confluent_record_written_with_another_schema_version_then_resolved_into_ours(
    schema_registry_url: str, topic_prefix: str
) -> None:
    # a producer with a newer ConsentChange (one more field, with a default) under our subject
    ours = STORE.get("ConsentChange")
    newer = {
        **ours.source,
        "fields": [
            *ours.source["fields"],
            {"name": f"channel_{topic_prefix.strip('.')}", "type": "string", "default": "web"},
        ],
    }
    registry = RegistryClient(schema_registry_url)
    schema_id = registry.register(ours.full_name, json.dumps(newer))
    value = sample(ours)
    body = BytesIO()
    schemaless_writer(
        body,
        parse_schema(newer, named_schemas={}),
        {**value, **{newer["fields"][-1]["name"]: "app"}},
    )
    framed = b"\x00" + schema_id.to_bytes(4, "big") + body.getvalue()

    reader = Codec(STORE, wire_format="confluent", registry=RegistryClient(schema_registry_url))

    assert reader.decode(framed) == Decoded("ConsentChange", value)
    unknown = reader.decode(b"\x00" + (2**31 - 7).to_bytes(4, "big") + body.getvalue())
    assert isinstance(unknown, DecodeError) and unknown.error_kind == "unknown_schema"
