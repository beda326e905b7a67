"""Avro values ↔ the contract's JSON: timestamps as ISO-8601 UTC strings, bytes as base64.

``from_json`` is guided by the schema (only a ``timestamp-millis`` field turns a string into a
datetime, only a ``bytes`` field decodes base64); anything it cannot convert is left as it is,
so that schema validation names the field afterwards.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from wire.store import Schema


def parse_timestamp(text: str) -> datetime | None:
    """An ISO-8601 timestamp (``Z`` or an offset; naive means UTC) as an aware UTC datetime."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def format_timestamp(value: datetime) -> str:
    """``2026-11-24T09:30:00Z``, with milliseconds only when there are some."""
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    spec = "milliseconds" if value.microsecond else "seconds"
    return value.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def from_json(schema: Schema, value: Any) -> Any:
    """A JSON object as the Avro value of ``schema`` (a new dict; ``value`` is not changed)."""
    return _convert(schema.source, value, {})


def to_json(value: Any) -> Any:
    """A decoded Avro value as JSON-ready data (datetimes ISO ``Z``, bytes base64)."""
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def _convert(avro_type: Any, value: Any, named: dict[str, Any]) -> Any:
    if isinstance(avro_type, list):  # a union: the first branch that changes the value wins
        for branch in avro_type:
            converted = _convert(branch, value, named)
            if converted is not value:
                return converted
        return value
    if isinstance(avro_type, str):
        if avro_type in named:
            return _convert(named[avro_type], value, named)
        return _bytes(value) if avro_type == "bytes" else value
    if isinstance(avro_type, Mapping):
        return _convert_complex(avro_type, value, named)
    return value


def _convert_complex(avro_type: Mapping[str, Any], value: Any, named: dict[str, Any]) -> Any:
    kind = avro_type.get("type")
    if avro_type.get("logicalType") == "timestamp-millis" and isinstance(value, str):
        return parse_timestamp(value) or value
    if kind == "record":
        named[str(avro_type["name"])] = avro_type
        if not isinstance(value, Mapping):
            return value
        types = {f["name"]: f["type"] for f in avro_type["fields"]}
        return {k: _convert(types[k], v, named) if k in types else v for k, v in value.items()}
    if kind == "array":
        items = avro_type["items"]
        return [_convert(items, v, named) for v in value] if isinstance(value, list) else value
    if kind == "map":
        values = avro_type["values"]
        if isinstance(value, Mapping):
            return {k: _convert(values, v, named) for k, v in value.items()}
        return value
    return _convert(kind, value, named)  # {"type": "string"} and the like


def _bytes(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value
