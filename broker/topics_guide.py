"""The data engineers' part of ``docs/topics.md``: how to read the topics with the standard tools,
the key serde and the subject ids, the headers of each kind of record, ``event_time`` against
the Kafka timestamp, which topics are internal, and why a shared topic with two sources carries
one record.

Text only, from the names in ``policy.topics`` and ``wire.headers``; the catalogue
(``broker.catalog``) puts it after its preamble.
"""

from __future__ import annotations

from policy import topics
from policy.erasure import TopicTerms, bound_text, span
from policy.models import CUSTOMER_ID, Route
from wire import headers

REGISTRY = "http://127.0.0.1:8081/apis/ccompat/v7"
EXAMPLE = "shared.septem-cargo.fulfilment"


def _h(*names: str) -> str:
    return ", ".join(f"`{n}`" for n in names)


HEADERS = [
    "| record | key | value | headers |",
    "|---|---|---|---|",
    "| shared output | the recipient's subject id (`subject_id`, `subject_pseudonym`) | the "
    f"topic's record | {_h(*headers.STAMP_FIELDS)} |",
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
key = message.key().decode()  # your subject id of the customer (subject_id in the value)
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
    "**Keys** are UTF-8 strings (Kafka's `StringSerializer`): the recipient's subject id of the "
    "customer, the value's `subject_id` (on a pseudonymised route `subject_pseudonym`). A "
    "tombstone (null value) carries the same key as the records it erases: forget that key.",
    "**Time.** `event_time` (in the value) is when the event happened: use it for windows and "
    "joins (on pseudonymised routes it is truncated to the route's `time_grain`: the day at "
    "least, the quarter or the year on the shipped routes, as each route's record says). The "
    "Kafka timestamp is when "
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

SUBJECT_IDS = (
    "**Subject ids.** SEPTEM's `customer_id` does not leave: every topic's records are keyed by "
    "your own subject id of the customer, a keyed HMAC-SHA256 of `customer_id` (64 hex "
    "characters) with a key only your company's records use, and carry it in the value as "
    "`subject_id` (`subject_pseudonym` on a pseudonymised route: the same id, one field). It is "
    "stable over time and across your topics, and differs from every other company's id for "
    "the same customer, so what two companies received cannot be joined by it. Use it to "
    "**deduplicate** (with `event_id`: a record may come twice after a worker restart), to "
    "**join your own records** of one customer across your topics and over time (it is the "
    "same on all of them), and to **act on tombstones**: a null value keyed by a subject id "
    "means delete everything you hold under that id, on that topic's purpose. A topic's policy "
    "entry may send the raw `customer_id` as well, with a reason the table above shows; by "
    "default none does. **Migration from `customer_id` keys** (records written before contract "
    "revision 3): the same topics and schema subjects go on; the new records have a different "
    'key, and their value carries `subject_id` (older records read it as `""`: their key '
    "was the `customer_id`). From the change on, tombstones come keyed by subject id only, and "
    "nothing maps a customer id to your subject id for you: before you switch, delete (or "
    "expire within the topic's retention) what you keep keyed by `customer_id`, then rebuild "
    "your tables keyed by `subject_id` from the records that follow. A row kept under a "
    "customer id would never be erased by a later withdrawal."
)

ACCESS = (
    "**Access.** A recipient reads its own topics with its own consumer groups and nothing "
    'else: the ACLs are derived from the policy ("Who may read what" below). The '
    f"five input topics, `{topics.AUDIT}` and `{topics.DLQ}` (the privacy office's, personal "
    "data) and the worker's own `<app id>-*` topics (the consent table's changelog) are "
    "internal."
)


PSEUDONYM_KEY_TEXT = "`subject_pseudonym` (keyed HMAC of customer_id, one key per recipient)"
SUBJECT_KEY_TEXT = "`subject_id` (the recipient's keyed HMAC of customer_id, as in the value)"


def subject_rows(routes: list[Route], basis: str, foreign: bool, pseudonymised: bool) -> list[str]:
    """A topic's rows about its subject: the key, the basis of provision the audit names, and
    which routes send the raw customer id, and why (none by default)."""
    kept = [r for r in routes if r.fields[CUSTOMER_ID].op == "keep"]
    raw = "; ".join(f"sent from `{r.source}`: {r.fields[CUSTOMER_ID].reason}" for r in kept)
    return [
        f"| key | {PSEUDONYM_KEY_TEXT if pseudonymised else SUBJECT_KEY_TEXT} |",
        f"| basis of provision | `{basis}`" + (" and `cross_border`" if foreign else "") + " |",
        f"| raw `customer_id` | {raw or 'never sent (the subject id instead)'} |",
    ]


def reading_guide() -> list[str]:
    """The "Reading these topics" section, as lines."""
    lines = ["## Reading these topics", ""]
    for paragraph in PARAGRAPHS:
        lines += [paragraph, ""]
    return [
        *lines, *HEADERS, "", SUBJECT_IDS, "", TWO_SOURCES, "", ACCESS, "", *TOOLS.splitlines(), "",
    ]  # fmt: skip


def erasure_rows(terms: TopicTerms) -> list[str]:
    """A shared topic's catalogue rows on erasure: its physical bound and who reads notices."""
    return [
        f"| erasure bound | {bound_text(terms)} |",
        f"| recipient's consumer group | `{terms.consumer_group}`: an erasure notice is read "
        f"once this group commits past it, overdue after {span(terms.read_within)} unread |",
    ]
