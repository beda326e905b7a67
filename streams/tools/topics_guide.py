"""The data engineers' part of ``docs/topics.md``: how to read the topics with the standard tools,
the key serde, the headers of each kind of record, ``event_time`` against the Kafka timestamp,
which topics are internal, and why a shared topic with two sources carries one record.

Text only, from the names in ``policy.topics`` and ``streams.wire.headers``; the catalogue
(``streams.tools.catalog``) puts it after its preamble.
"""

from __future__ import annotations

from policy import topics
from policy.erasure import TopicTerms, bound_text, span
from streams.wire import headers

REGISTRY = "http://127.0.0.1:8081/apis/ccompat/v7"
EXAMPLE = "shared.septem-cargo.fulfilment"


def _h(*names: str) -> str:
    return ", ".join(f"`{n}`" for n in names)


HEADERS = [
    "| record | key | value | headers |",
    "|---|---|---|---|",
    "| shared output | `customer_id`, or the recipient's `subject_pseudonym` | the topic's "
    f"record | {_h(*headers.STAMP_FIELDS)} |",
    f"| tombstone (withdrawal, suspension) | as the records it erases | null | "
    f"{_h(headers.ERASURE_REASON, headers.EVENT_ID, headers.POLICY_VERSION)} (the event id of the "
    "consent change or request that sent it) |",
    f"| `{topics.AUDIT}` | `customer_id` | `AuditRecord` | "
    f"{_h(headers.EVENT_ID, headers.POLICY_VERSION, headers.SOURCE_TOPIC)} |",
    f"| `{topics.SHADOW}` | `customer_id` | `ShadowDifference` | "
    f"{_h(headers.EVENT_ID, headers.POLICY_VERSION, headers.SOURCE_TOPIC)} |",
    f"| `{topics.ERASURES}` | `[kind, shared topic, subject key]` (JSON) | `ErasureNotice` | "
    "none |",
    f"| `{topics.DLQ}` | the input record's key | `DeadLetter` | "
    f"{_h(headers.ERROR_KIND, headers.POLICY_VERSION, headers.SOURCE_TOPIC)}, and "
    f"`{headers.EVENT_ID}` only when the record passed validation (a bad record's values, its "
    "event id included, may hold anything) |",
]

TOOLS = f"""### confluent-kafka (Python)

```python
from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

value_of = AvroDeserializer(SchemaRegistryClient({{"url": "{REGISTRY}"}}))
config = {{"bootstrap.servers": "127.0.0.1:9092", "group.id": "my-team"}}
consumer = Consumer({{**config, "auto.offset.reset": "earliest"}})
consumer.subscribe(["{EXAMPLE}"])
message = consumer.poll(10)
key = message.key().decode()  # customer_id, or the recipient's pseudonym
raw = message.value()  # None: a tombstone, forget this key
value = raw and value_of(raw, SerializationContext(message.topic(), MessageField.VALUE))
```

### Kafka Connect

```properties
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=io.confluent.connect.avro.AvroConverter
value.converter.schema.registry.url={REGISTRY}
header.converter=org.apache.kafka.connect.storage.StringConverter
```

A tombstone is a null value for the key: a JDBC sink deletes the row with `delete.enabled=true`
and `pk.mode=record_key`.

### Spark (Structured Streaming)

Spark's `from_avro` reads the Avro body without the 5-byte Confluent header: take the schema
of `<topic>-value` from the registry (`GET {REGISTRY}/subjects/{EXAMPLE}-value/versions/latest`)
and strip the header, or let ABRiS (`za.co.absa:abris`) look the writer schema up by its id.

```python
from pyspark.sql.avro.functions import from_avro
from pyspark.sql.functions import col, expr

schema = "..."  # the "schema" field of the registry's answer above
records = (
    spark.readStream.format("kafka")
    .option("kafka.bootstrap.servers", "127.0.0.1:9092")
    .option("subscribe", "{EXAMPLE}")
    .option("startingOffsets", "earliest")
    .load()
    .select(
        col("key").cast("string").alias("key"),
        from_avro(expr("substring(value, 6, length(value) - 5)"), schema).alias("v"),
    )
)
```

### Flink SQL

```sql
CREATE TABLE cargo_fulfilment (
  k STRING, event_id STRING, event_time TIMESTAMP(3), source_topic STRING,
  purpose STRING, recipient STRING, policy_version STRING, order_id STRING,
  WATERMARK FOR event_time AS event_time - INTERVAL '5' MINUTE
) WITH (
  'connector' = 'kafka', 'topic' = '{EXAMPLE}',
  'properties.bootstrap.servers' = '127.0.0.1:9092', 'properties.group.id' = 'my-team',
  'scan.startup.mode' = 'earliest-offset',
  'key.format' = 'raw', 'key.fields' = 'k', 'value.fields-include' = 'EXCEPT_KEY',
  'value.format' = 'avro-confluent', 'value.avro-confluent.url' = '{REGISTRY}'
);
```

List the columns you need (any subset of the record's fields). To see tombstones as deletions,
use the `upsert-kafka` connector with `PRIMARY KEY (k) NOT ENFORCED`.

### Kafka's console consumer and `purposegate dump`

`deploy/kafka/kafka.sh consume {EXAMPLE}` runs Kafka's console consumer (from the
`kafka-tools` jars the local broker ships) and prints timestamp, key and headers of every
record; values are Avro bytes there. `purposegate dump {EXAMPLE}` prints every record
decoded, as JSON lines (set `SCHEMA_REGISTRY_URL`; `make peek TOPIC={EXAMPLE}` does).
"""


PARAGRAPHS = (
    "**Values** are Avro in the Confluent wire format (magic byte 0, the 4-byte schema id, the "
    "body). Each topic's schema is the subject `<topic>-value` (TopicNameStrategy, the default "
    "of every Confluent-compatible tool), registered when the worker starts (before any record) "
    "with compatibility `BACKWARD`: a consumer with the latest schema reads every record on the "
    "topic; fields are only ever added, with defaults. A deployment without a registry writes "
    "Avro single-object encoding instead (`PURPOSEGATE_WIRE_FORMAT=single-object`: `C3 01`, the "
    "CRC-64-AVRO fingerprint, the body; the `.avsc` files of `schemas/` decode it).",
    "**Keys** are UTF-8 strings (Kafka's `StringSerializer`): `customer_id`, or on a "
    "pseudonymised route the recipient's `subject_pseudonym`. A tombstone (null value) carries "
    "the same key as the records it erases: forget that key.",
    "**Time.** `event_time` (in the value) is when the event happened: use it for windows and "
    "joins (on pseudonymised routes it is truncated to the day). The Kafka timestamp is when "
    "purposegate wrote the record (processing time), not `event_time`; on pseudonymised routes "
    "it is the start of that day (UTC), so that send times cannot join them to named records.",
    "**Headers** (UTF-8 text): every record says the policy version it comes from, and the event "
    "(a dead letter only when its record passed validation).",
)

TWO_SOURCES = (
    "**Two sources, one record.** A shared topic whose routes come from two input topics (e.g. "
    "Souken's `product_development`: orders and questionnaires) carries one record type, "
    "`<Recipient><Purpose>`: the envelope, `source_topic` telling which input a record comes "
    "from, then the fields of every route, those of only one source nullable (null in the "
    "other's records; each field's doc says which). Chosen over a union because ksqlDB and "
    "Flink's `avro-confluent` need a record at the top, and Spark and Connect turn a union into "
    "`member0`/`member1` structs; over a topic per source because the contract names one topic "
    "per recipient and purpose (ACLs, retention, withdrawal tombstones stay one per purpose). "
    "One record maps to one table row in every tool. `purposegate dump` shows each record with "
    "its route's fields only."
)

ACCESS = (
    "**Access.** A recipient gets `READ` and `DESCRIBE` on its own prefix only: `kafka-acls.sh "
    "--add --allow-principal User:<recipient> --operation Read --operation Describe --topic "
    "shared.<recipient>. --resource-pattern-type prefixed` (and `Read` on its consumer group). "
    "Everything else is internal: the five input topics, "
    f"`{topics.AUDIT}` and `{topics.DLQ}` (the privacy office's, personal data), and the worker's "
    "own `<app id>-*` topics (the consent table's changelog)."
)


def reading_guide() -> list[str]:
    """The "Reading these topics" section, as lines."""
    lines = ["## Reading these topics", ""]
    for paragraph in PARAGRAPHS:
        lines += [paragraph, ""]
    return [*lines, *HEADERS, "", TWO_SOURCES, "", ACCESS, "", *TOOLS.splitlines(), ""]


def erasure_rows(terms: TopicTerms) -> list[str]:
    """A shared topic's catalogue rows on erasure: its physical bound and who reads notices."""
    return [
        f"| erasure bound | {bound_text(terms)} |",
        f"| recipient's consumer group | `{terms.consumer_group}`: an erasure notice is read "
        f"once this group commits past it, overdue after {span(terms.read_within)} unread |",
    ]
