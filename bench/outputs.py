"""What the worker wrote, grouped by the input record that caused it (the replay's plan).

After the one-worker phase, every record the worker wrote under its prefix (shared routes and
their tombstones, the audit, the DLQ, the shadow topic) and to its consent table's changelog is
read back and attached to one input record, named by ``(logical topic, partition, offset)``:

* route records and tombstones by their ``purposegate-event-id`` header: the event id itself,
  or on a pseudonymised route its HMAC under the recipient's key (``policy.keys``
  ``EventIdPseudonymiserFn``), recomputed here for every input with the bench's keys file;
* audit and shadow records by the same header (the plain event id);
* dead letters by that header when they have one, else by the source topic, partition and
  offset their value carries;
* changelog writes by key and time: the audit record of the same customer with the latest
  CreateTime at or before the write's (the worker sends a decision's state write with its
  audit record); a key that is no customer (a forgetting horizon) takes the nearest audit
  record on the same partition.

A record that cannot be attached (none expected) is counted and replayed after the last input,
so the totals stay equal. The policies topic (one record per policy version, at start-up) is
not per event and is left out.
"""

from __future__ import annotations

import asyncio
import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from aiokafka import AIOKafkaConsumer, TopicPartition

from config.settings import Settings
from policy import topics
from policy.keys import keys_from_file
from wire import Codec, Decoded, headers

CHANGELOG = "consent-state-changelog"
FETCH_BYTES = 32 * 1024 * 1024

#: An input record: (logical topic, partition, offset).
InputId = tuple[str, int, int]


class Out(NamedTuple):
    """One record the worker wrote: where, and exactly what."""

    topic: str  # the logical name (prefix stripped; the changelog: ``CHANGELOG``)
    partition: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    timestamp: int


@dataclass
class Plan:
    """Per input record, the records to send for it (in the worker's order)."""

    by_input: dict[InputId, list[Out]] = field(default_factory=dict)
    unattached: list[Out] = field(default_factory=list)
    partitions: dict[str, int] = field(default_factory=dict)  # logical output topic -> count
    inputs: int = 0

    def totals(self) -> dict[str, int]:
        records = [r for rs in self.by_input.values() for r in rs] + self.unattached
        size = sum(len(r.value or b"") + len(r.key or b"") for r in records)
        per_topic: dict[str, int] = defaultdict(int)
        for r in records:
            per_topic[r.topic] += 1
        return {
            "inputs": self.inputs,
            "records": len(records),
            "key_and_value_bytes": size,
            "unattached": len(self.unattached),
            **{f"records.{t}": n for t, n in sorted(per_topic.items())},
        }


def output_topics(settings: Settings, existing: Iterable[str]) -> dict[str, str]:
    """Physical -> logical name of every topic the worker writes per event."""
    prefix = settings.topic_prefix
    skip = {settings.topic(t) for t in (*topics.INPUT_TOPICS, topics.POLICIES)}
    out = {t: t[len(prefix) :] for t in existing if t.startswith(prefix) and t not in skip}
    out[f"{settings.app_id}-{CHANGELOG}"] = CHANGELOG
    return out


async def read_all(
    settings: Settings, names: dict[str, str]
) -> tuple[dict[str, int], dict[str, list[Any]]]:
    """Every record of the named physical topics (partition counts, records per logical name)."""
    client = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_bytes=FETCH_BYTES,
        max_partition_fetch_bytes=FETCH_BYTES,
    )
    await client.start()
    try:
        await client._client.set_topics(list(names))  # metadata of exactly these topics
        parts = [
            TopicPartition(t, p)
            for t in names
            for p in sorted(client.partitions_for_topic(t) or ())
        ]
        counts: dict[str, int] = defaultdict(int)
        for tp in parts:
            counts[names[tp.topic]] += 1
        client.assign(parts)
        await client.seek_to_beginning(*parts)
        ends = await client.end_offsets(parts)
        found: dict[str, list[Any]] = defaultdict(list)
        left = {tp for tp in parts if ends[tp] > 0}
        while left:
            for tp, records in (await client.getmany(*left, timeout_ms=1000)).items():
                found[names[tp.topic]] += records
                if records[-1].offset + 1 >= ends[tp]:
                    left.discard(tp)
        return dict(counts), found
    finally:
        await client.stop()


def plan(settings: Settings, codec: Codec, keys_file: Path) -> Plan:
    """Read the worker's inputs and outputs and group the outputs per input."""
    return asyncio.run(_plan(settings, codec, keys_file))


async def _plan(settings: Settings, codec: Codec, keys_file: Path) -> Plan:
    input_names = {settings.topic(t): t for t in topics.INPUT_TOPICS}
    _, inputs = await read_all(settings, input_names)
    client = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await client.start()
    try:
        existing = await client.topics()
    finally:
        await client.stop()
    counts, outputs = await read_all(settings, output_topics(settings, existing))
    ids = _event_ids(inputs, codec, keys_file)
    result = Plan(partitions=counts, inputs=sum(len(rs) for rs in inputs.values()))
    _attach(result, outputs, ids, codec)
    return result


def _event_ids(inputs: dict[str, list[Any]], codec: Codec, keys_file: Path) -> dict[str, InputId]:
    """Every header value that names an input: its event id and each recipient's HMAC of it."""
    keys = keys_from_file(keys_file)
    hmacs = [keys.event_id_pseudonymiser(r) for r in sorted(keys.recipients)]
    ids: dict[str, InputId] = {}
    for topic, records in inputs.items():
        for r in records:
            decoded = codec.decode(r.value)
            event_id = decoded.value.get("event_id") if isinstance(decoded, Decoded) else None
            if not isinstance(event_id, str):
                continue
            where = (topic, r.partition, r.offset)
            ids.setdefault(event_id, where)
            for pseudonymise in hmacs:
                ids.setdefault(pseudonymise(event_id), where)
    return ids


def _attach(
    result: Plan, outputs: dict[str, list[Any]], ids: dict[str, InputId], codec: Codec
) -> None:
    by_input: dict[InputId, list[Out]] = defaultdict(list)
    # audit CreateTimes per customer key and per partition, for the changelog writes
    by_key: dict[bytes, list[tuple[int, InputId]]] = defaultdict(list)
    by_part: dict[int, list[tuple[int, InputId]]] = defaultdict(list)
    for topic, records in outputs.items():
        if topic == CHANGELOG:
            continue
        for r in records:
            out = Out(topic, r.partition, r.key, r.value, list(r.headers or ()), r.timestamp)
            where = _named_input(out, ids, codec)
            if where is None:
                result.unattached.append(out)
                continue
            by_input[where].append(out)
            if topic == topics.AUDIT and r.key is not None:
                by_key[r.key].append((r.timestamp, where))
                by_part[r.partition].append((r.timestamp, where))
    for times in (*by_key.values(), *by_part.values()):
        times.sort()
    for r in outputs.get(CHANGELOG, []):
        out = Out(CHANGELOG, r.partition, r.key, r.value, list(r.headers or ()), r.timestamp)
        times = by_key[r.key] if r.key in by_key else by_part.get(r.partition, [])
        if not times:
            result.unattached.append(out)
            continue
        by_input[_at_or_before(times, r.timestamp)].append(out)
    for records in by_input.values():
        records.sort(key=lambda r: r.timestamp)  # stable: the worker's order within a stamp
    result.by_input = dict(by_input)


def _named_input(out: Out, ids: dict[str, InputId], codec: Codec) -> InputId | None:
    event_id = dict(out.headers).get(headers.EVENT_ID)
    if event_id is not None and event_id.decode() in ids:
        return ids[event_id.decode()]
    if out.topic == topics.DLQ and out.value is not None:
        decoded = codec.decode(out.value)
        if isinstance(decoded, Decoded):
            value = decoded.value
            return (value["source_topic"], value["partition"], value["offset"])
    return None


def _at_or_before(times: list[tuple[int, InputId]], stamp: int) -> InputId:
    """The input of the latest audit record at or before ``stamp`` (else the first one)."""
    index = bisect.bisect_right(times, (stamp, ("\uffff", 0, 0))) - 1
    return times[max(index, 0)][1]
