"""``purposegate dump TOPIC…``: Avro on Kafka → JSON lines, like a data engineer would see it.

Reads every partition of the topics from the beginning up to the end offsets of the moment it
starts, then exits (``--follow`` keeps reading; ``--max N`` stops after N records). One JSON
line per record: ``topic`` (as given), ``partition``, ``offset``, ``timestamp``, ``key``,
``headers`` (name → UTF-8 text), ``schema`` and ``value`` decoded (timestamps ISO-8601 UTC,
bytes base64). A tombstone has ``"value": null``; bytes that do not decode have ``"value":
null`` with ``error``, ``error_kind`` and the ``raw`` bytes in base64. Keys and header values
that are not UTF-8 are base64 with ``"key_encoding": "base64"`` / a ``base64:`` prefix.
Topic names get ``PURPOSEGATE_TOPIC_PREFIX``; consumes without a group (commits nothing).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from kafka import TopicPartition
from kafka.errors import KafkaError

from streams.avro import Codec, DecodeError, SchemaStore
from streams.avro.jsonvalues import format_timestamp, to_json
from streams.errors import KafkaUnavailableError, PurposegateError
from streams.kafka_clients import TOOL_BOOTSTRAP_TIMEOUT_MS, consumer
from streams.settings import Settings

POLL_MS = 500
#: Give up when no record arrives for this long although the end offsets say more exist.
STALL_TIMEOUT_S = 30.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dump",
        help="Avro records of topics -> JSON lines (from the beginning to the current end)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("topics", metavar="TOPIC", nargs="+", help="logical topic name(s)")
    parser.add_argument("--follow", action="store_true", help="keep reading new records")
    parser.add_argument("--max", type=int, metavar="N", help="stop after N records")
    parser.set_defaults(func=run)


@dataclass
class Reader:
    """Reads assigned partitions from the beginning; knows when it has reached the end."""

    client: Any  # KafkaConsumer
    end: dict[TopicPartition, int]

    def at_end(self) -> bool:
        return all(self.client.position(tp) >= offset for tp, offset in self.end.items())


def open_reader(settings: Settings, names: Sequence[str]) -> Reader:
    client = consumer(
        settings,
        group_id=None,
        bootstrap_timeout_ms=TOOL_BOOTSTRAP_TIMEOUT_MS,
        request_timeout_ms=10_000,
        auto_offset_reset="earliest",
    )
    try:
        existing = client.topics()
        missing = [n for n in names if settings.topic(n) not in existing]
        if missing:
            raise PurposegateError(
                "unknown topic(s): " + ", ".join(settings.topic(n) for n in missing)
            )
        partitions = [
            TopicPartition(settings.topic(n), p)
            for n in names
            for p in sorted(client.partitions_for_topic(settings.topic(n)) or ())
        ]
        client.assign(partitions)
        client.seek_to_beginning(*partitions)
        end = client.end_offsets(partitions)
    except KafkaError as exc:
        client.close()
        raise KafkaUnavailableError(f"cannot read topic metadata ({type(exc).__name__})") from None
    except PurposegateError:
        client.close()
        raise
    return Reader(client, dict(end))


def records(reader: Reader, follow: bool) -> Iterator[Any]:
    """ConsumerRecords in poll order until the end offsets (or forever with ``follow``)."""
    last_progress = time.monotonic()
    while follow or not reader.at_end():
        batch = reader.client.poll(timeout_ms=POLL_MS)
        if batch:
            last_progress = time.monotonic()
        elif not follow and time.monotonic() - last_progress > STALL_TIMEOUT_S:
            raise PurposegateError("no records arrive although the end offsets say more exist")
        for tp in sorted(batch, key=lambda t: (t.topic, t.partition)):
            yield from batch[tp]


def record_json(record: Any, logical_topic: str, codec: Codec) -> dict[str, Any]:
    """The JSON form of one ConsumerRecord."""
    out: dict[str, Any] = {
        "topic": logical_topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": _timestamp(record.timestamp),
    }
    out.update(_key(record.key))
    out["headers"] = {name: _text(value) for name, value in (record.headers or [])}
    if record.value is None:
        out.update(schema=None, value=None)
        return out
    decoded = codec.decode(record.value)
    if isinstance(decoded, DecodeError):
        out.update(
            schema=None,
            value=None,
            error=decoded.error,
            error_kind=decoded.error_kind,
            raw=base64.b64encode(record.value).decode("ascii"),
        )
    else:
        out.update(schema=decoded.name, value=to_json(decoded.value))
    return out


def _timestamp(ms: int | None) -> str | None:
    return format_timestamp(datetime.fromtimestamp(ms / 1000, UTC)) if ms is not None else None


def _key(key: bytes | None) -> dict[str, Any]:
    if key is None:
        return {"key": None}
    try:
        return {"key": key.decode("utf-8")}
    except UnicodeDecodeError:
        return {"key": base64.b64encode(key).decode("ascii"), "key_encoding": "base64"}


def _text(value: bytes | None) -> str | None:
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(value).decode("ascii")


def dump(
    settings: Settings, names: Sequence[str], out: TextIO, *, follow: bool, limit: int | None
) -> int:
    """Write the records of ``names`` to ``out``; returns how many."""
    codec = Codec(SchemaStore.load(), settings)
    logical = {settings.topic(n): n for n in names}
    reader = open_reader(settings, names)
    count = 0
    try:
        if limit is not None and limit <= 0:
            return 0
        for record in records(reader, follow):
            line = record_json(record, logical[record.topic], codec)
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            count += 1
            if limit is not None and count >= limit:
                break
        out.flush()
    finally:
        reader.client.close()
    return count


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        dump(settings, args.topics, sys.stdout, follow=args.follow, limit=args.max)
    except BrokenPipeError:  # `purposegate dump ... | head`
        return 0
    return 0
