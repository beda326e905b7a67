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
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from broker.reader import Reader, open_reader, records
from cli import args as args_
from cli import progress
from config.settings import Settings
from wire import Codec, DecodeError, SchemaStore
from wire.jsonvalues import format_timestamp, to_json


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dump",
        help="Avro records of topics -> JSON lines (from the beginning to the current end)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "topics", metavar="TOPIC", nargs="+", type=args_.text_arg, help="logical topic name(s)"
    )
    parser.add_argument("--follow", action="store_true", help="keep reading new records")
    parser.add_argument("--max", type=args_.count(1), metavar="N", help="stop after N records")
    parser.set_defaults(func=run)


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
        with progress.bar(None if follow else _size(reader), "records", desc="dump") as shown:
            for record in progress.through(records(reader, follow), shown):
                line = record_json(record, logical[record.topic], codec)
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                count += 1
                if limit is not None and count >= limit:
                    break
        out.flush()
    finally:
        reader.client.close()
    return count


def _size(reader: Reader) -> int:
    """Records between the beginning and the end offsets (fewer on compacted topics)."""
    start = reader.client.beginning_offsets(list(reader.end))
    return sum(max(end - start.get(tp, 0), 0) for tp, end in reader.end.items())


def run(args: argparse.Namespace, settings: Settings) -> int:
    dump(settings, args.topics, sys.stdout, follow=args.follow, limit=args.max)
    return 0
