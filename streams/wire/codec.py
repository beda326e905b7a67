"""Avro on the wire: single-object encoding (default) and the Confluent wire format.

* single-object (Avro spec): ``C3 01`` + 8-byte little-endian CRC-64-AVRO fingerprint of the
  writer schema's parsing canonical form + the schemaless body. Writer schemas are found by
  fingerprint in ``schemas/``; no registry is needed.
* confluent: byte ``0`` + 4-byte big-endian schema id + the schemaless body, ids from a
  Confluent-compatible registry (subjects: the record's full name, RecordNameStrategy).

``decode`` reads both whatever the configured write format, and never raises on bad bytes: it
returns a ``DecodeError`` value (``error_kind`` + a readable ``reason`` without any field value)
that becomes a DLQ record. ``encode`` raises ``EncodeError`` naming the bad fields (never their
values): our own outputs failing their schema is a programming fault.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple

from fastavro import schemaless_reader, schemaless_writer
from fastavro.validation import validate

from policy.errors import ConfigError, PurposegateError
from policy.errors import DecodeErrorKind as ErrorKind
from streams.settings import Settings
from streams.wire.registry import (
    RegistryClient,
    SchemaNotFoundError,
    SchemaRegistryUnavailableError,
)
from streams.wire.store import Schema, SchemaStore, schema_from_json

SINGLE_OBJECT_MAGIC: Final = b"\xc3\x01"
SINGLE_OBJECT_HEADER_LEN: Final = 10
CONFLUENT_MAGIC: Final = 0
CONFLUENT_HEADER_LEN: Final = 5

WireFormat = Literal["single-object", "confluent"]


class EncodeError(PurposegateError):
    """A value does not fit its schema; the message names fields, never values."""


class Decoded(NamedTuple):
    """A decoded record: the writer record's simple name and the value as a plain dict."""

    name: str
    value: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DecodeError:
    """Bytes that are not a record we know. A value, not an exception: the stream goes on."""

    error_kind: ErrorKind
    error: str  # readable, names no field value (it goes to the DLQ and to logs)


def effective_wire_format(settings: Settings) -> WireFormat:
    """``PURPOSEGATE_WIRE_FORMAT`` when set; otherwise confluent iff ``SCHEMA_REGISTRY_URL`` is."""
    if "wire_format" in settings.model_fields_set:
        return settings.wire_format
    return "confluent" if settings.schema_registry_url else "single-object"


class Codec:
    """Encodes and decodes every schema of one ``SchemaStore``; build once, share it.

    Everything per schema (header bytes, parsed schema) is computed ahead, so the hot path is a
    dict lookup plus one fastavro call.
    """

    def __init__(
        self,
        store: SchemaStore,
        settings: Settings | None = None,
        *,
        wire_format: WireFormat | None = None,
        registry: RegistryClient | None = None,
    ) -> None:
        """``settings`` gives the write format (``effective_wire_format``) and the registry;
        ``wire_format`` and ``registry`` override them (tests, tools)."""
        if settings is not None:
            wire_format = wire_format or effective_wire_format(settings)
            if registry is None and settings.schema_registry_url:
                registry = RegistryClient(settings.schema_registry_url)
        wire_format = wire_format or "single-object"
        if wire_format == "confluent" and registry is None:
            raise ConfigError("the confluent wire format needs SCHEMA_REGISTRY_URL")
        self.store = store
        self.wire_format: WireFormat = wire_format
        self.registry = registry
        # name (simple and full) -> (header, schema); single-object headers are known now,
        # Confluent ones once the registry has given the id (first encode of that schema).
        self._writers: dict[str, tuple[bytes, Schema]] = {}
        if wire_format == "single-object":
            for schema in store:
                entry = (SINGLE_OBJECT_MAGIC + schema.fingerprint, schema)
                self._writers[schema.name] = self._writers[schema.full_name] = entry
        # registry id -> (name, writer parsed, reader parsed or None)
        self._by_id: dict[int, tuple[str, Any, Any]] = {}

    # -- encode ---------------------------------------------------------------------------

    def encode(self, name: str, value: Mapping[str, Any], *, strict: bool = False) -> bytes:
        """``value`` in schema ``name``, framed in the configured wire format.

        ``strict`` also rejects keys the schema does not have (for hand-written input such as
        ``purposegate produce``); without it such keys are dropped, never sent.
        """
        writer = self._writers.get(name) or self._new_writer(name)
        header, schema = writer
        out = BytesIO()
        out.write(header)
        try:
            schemaless_writer(out, schema.parsed, value, strict=strict)
        except Exception:  # fastavro raises many types; their messages may hold values
            problems = invalid_fields(schema, value, strict=strict) or ["value does not fit"]
            raise EncodeError(f"{schema.name}: " + "; ".join(problems)) from None
        return out.getvalue()

    def _new_writer(self, name: str) -> tuple[bytes, Schema]:
        """The Confluent header of a schema not yet registered (single-object ones are all
        computed in ``__init__``, so there an unknown name is the only way here)."""
        schema = self.store.find(name)
        if schema is None:
            raise EncodeError(f"no schema named {name!r} in schemas/")
        if self.registry is None:  # pragma: no cover - __init__ guarantees it
            raise ConfigError("the confluent wire format needs SCHEMA_REGISTRY_URL")
        schema_id = self.registry.register(schema.full_name, json.dumps(schema.source))
        entry = (bytes([CONFLUENT_MAGIC]) + schema_id.to_bytes(4, "big"), schema)
        self._writers[schema.name] = self._writers[schema.full_name] = entry
        self._by_id[schema_id] = (schema.name, schema.parsed, None)
        return entry

    # -- decode ---------------------------------------------------------------------------

    def decode(self, data: bytes | None) -> Decoded | DecodeError:
        """The record in ``data`` (either wire format), or a ``DecodeError`` saying why not.

        Raises only ``SchemaRegistryUnavailableError`` (an unknown Confluent id while the
        registry is down): that is an outage, and good records must not go to the DLQ for it.
        """
        if not data:
            return DecodeError("empty", "empty value (no bytes)")
        if data[:2] == SINGLE_OBJECT_MAGIC:
            if len(data) < SINGLE_OBJECT_HEADER_LEN:
                return DecodeError("truncated", "single-object header shorter than 10 bytes")
            schema = self.store.by_fingerprint(data[2:SINGLE_OBJECT_HEADER_LEN])
            if schema is None:
                fp = data[2:SINGLE_OBJECT_HEADER_LEN].hex()
                return DecodeError("unknown_schema", f"no schema in schemas/ has fingerprint {fp}")
            return _read(schema.name, schema.parsed, None, data, SINGLE_OBJECT_HEADER_LEN)
        if data[0] == CONFLUENT_MAGIC:
            return self._decode_confluent(data)
        return DecodeError(
            "unknown_format",
            f"not Avro single-object nor Confluent framing (starts {data[:2].hex()})",
        )

    def _decode_confluent(self, data: bytes) -> Decoded | DecodeError:
        if self.registry is None:
            return DecodeError("no_registry", "Confluent-framed record but no SCHEMA_REGISTRY_URL")
        if len(data) < CONFLUENT_HEADER_LEN:
            return DecodeError("truncated", "Confluent header shorter than 5 bytes")
        schema_id = int.from_bytes(data[1:CONFLUENT_HEADER_LEN], "big")
        known = self._by_id.get(schema_id)
        if known is None:
            resolved = self._resolve_id(schema_id)
            if isinstance(resolved, DecodeError):
                return resolved
            known = resolved
        name, writer, reader = known
        return _read(name, writer, reader, data, CONFLUENT_HEADER_LEN)

    def _resolve_id(self, schema_id: int) -> tuple[str, Any, Any] | DecodeError:
        if self.registry is None:  # pragma: no cover - checked by the caller
            return DecodeError("no_registry", "no SCHEMA_REGISTRY_URL")
        try:
            text = self.registry.schema_text(schema_id)
            label = Path(f"<schema registry id {schema_id}>")
            writer = schema_from_json(json.loads(text), kind="registry", path=label)
        except SchemaNotFoundError:
            return DecodeError("unknown_schema", f"schema registry has no schema id {schema_id}")
        except SchemaRegistryUnavailableError:
            raise
        except (PurposegateError, ValueError, KeyError, TypeError):
            return DecodeError("unknown_schema", f"schema id {schema_id} is not a usable record")
        local = self.store.find(writer.full_name)
        if local is None or local.canonical == writer.canonical:
            entry = (writer.name, local.parsed if local else writer.parsed, None)
        else:  # an older or newer version of one of ours: resolve into the local one
            entry = (local.name, writer.parsed, local.parsed)
        self._by_id[schema_id] = entry
        return entry


def _read(name: str, writer: Any, reader: Any, data: bytes, offset: int) -> Decoded | DecodeError:
    buf = BytesIO(data)
    buf.seek(offset)
    try:
        value = schemaless_reader(buf, writer, reader)
    except Exception as exc:  # EOFError, UnicodeDecodeError, SchemaResolutionError, ...
        return DecodeError("malformed", f"body does not decode as {name} ({type(exc).__name__})")
    if buf.tell() != len(data):
        extra = len(data) - buf.tell()
        return DecodeError("malformed", f"{extra} trailing bytes after a {name} body")
    if not isinstance(value, dict):  # pragma: no cover - every wire schema is a record
        return DecodeError("malformed", f"{name} body is not a record")
    return Decoded(name, value)


def invalid_fields(schema: Schema, value: Any, *, strict: bool = False) -> list[str]:
    """What is wrong with ``value`` for ``schema``, one line per top-level field, no values."""
    if not isinstance(value, Mapping):
        return [f"expected a record (object), got {type(value).__name__}"]
    problems: list[str] = []
    missing: list[str] = []
    for field in schema.source["fields"]:
        name = field["name"]
        if name not in value:
            if "default" not in field:
                missing.append(repr(name))
            continue
        if not _fits(field["type"], value[name]):
            problems.append(f"field {name!r} is not {_type_label(field['type'])}")
    if missing:
        problems.insert(0, f"missing field{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if strict:
        known = set(schema.field_names)
        problems.extend(f"field {key!r} is not in the schema" for key in value if key not in known)
    return problems


def _fits(avro_type: Any, datum: Any) -> bool:
    wrapper = {"type": "record", "name": "FieldCheck", "fields": [{"name": "f", "type": avro_type}]}
    try:
        return bool(validate({"f": datum}, wrapper, raise_errors=False))
    except Exception:  # a type naming a record defined elsewhere; let the caller's message stand
        return False


def _type_label(avro_type: Any) -> str:
    if isinstance(avro_type, list):
        return " or ".join(_type_label(t) for t in avro_type)
    if isinstance(avro_type, Mapping):
        logical = avro_type.get("logicalType")
        if logical:
            return str(logical)
        kind = avro_type.get("type")
        if kind == "array":
            return f"an array of {_type_label(avro_type['items'])}"
        if kind == "map":
            return f"a map of {_type_label(avro_type['values'])}"
        if kind == "record":
            return f"a {avro_type.get('name', 'record')} record"
        return str(kind)
    return str(avro_type)
