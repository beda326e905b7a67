"""Avro on the wire: the Confluent wire format (default) and single-object encoding.

* confluent: byte ``0`` + 4-byte big-endian schema id + the schemaless body, ids from a
  Confluent-compatible registry. Subjects are ``<topic>-value`` (TopicNameStrategy), registered
  for every topic at start-up with compatibility BACKWARD (``bind_topics``).
* single-object (Avro spec), for deployments without a registry: ``C3 01`` + 8-byte
  little-endian CRC-64-AVRO fingerprint of the writer schema's parsing canonical form + the
  schemaless body. Writer schemas are found by fingerprint in ``schemas/``.

Every topic carries one record (``bind_topics``, ``encode_for``); a shared topic's record
(``schemas/topics``) is read back into its route's shape (``project``).

``decode`` reads both whatever the configured write format, and never raises on bad bytes: it
returns a ``DecodeError`` value (``error_kind`` + a readable ``reason`` without any field value)
that becomes a DLQ record. ``encode`` raises ``EncodeError`` naming the bad fields (never their
values): our own outputs failing their schema is a programming fault.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple

from fastavro import schemaless_reader, schemaless_writer

from config.settings import Settings
from policy import topics
from policy.decision import Decision
from policy.errors import ConfigError, PurposegateError
from policy.errors import DecodeErrorKind as ErrorKind
from wire.audit_wire import AUDIT_FINGERPRINT, AuditWriter
from wire.fastwrite import Unfit, fast_body
from wire.fit import exact_fault, invalid_fields
from wire.projection import project, projections
from wire.registry import (
    RegistryClient,
    SchemaNotFoundError,
    SchemaRegistryUnavailableError,
)
from wire.store import Schema, SchemaStore, schema_from_json
from wire.subjects import register_subjects

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
    """``PURPOSEGATE_WIRE_FORMAT``: confluent unless set to single-object."""
    return settings.wire_format


NO_REGISTRY: Final = (
    "the confluent wire format (the default) needs SCHEMA_REGISTRY_URL; a deployment without "
    "a schema registry sets PURPOSEGATE_WIRE_FORMAT=single-object"
)


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
        ``wire_format`` and ``registry`` override them (tests, tools). Reading needs no
        registry for single-object records; writing Confluent ones does (``NO_REGISTRY``)."""
        if settings is not None:
            wire_format = wire_format or effective_wire_format(settings)
            if registry is None and settings.schema_registry_url:
                registry = RegistryClient(settings.schema_registry_url)
        wire_format = wire_format or ("confluent" if registry else "single-object")
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
        # logical topic -> (header, schema), from bind_topics
        self._topics: dict[str, tuple[bytes, Schema]] = {}
        self._audit: AuditWriter | None = None  # bind_topics: the audit topic's fast writer
        self._projections = projections(store)

    def bind_topics(self, wire: Mapping[str, Schema], physical: Callable[[str], str] = str) -> None:
        """The record each logical topic carries (``topic_schemas.wire_schemas``). Confluent:
        registers each under subject ``<physical(topic)>-value`` with compatibility BACKWARD
        first; a refusal raises ``SchemaRegistryError`` naming the topic. Call once at
        start-up, before anything is sent."""
        if self.wire_format == "single-object":
            for topic, schema in wire.items():
                self._topics[topic] = (SINGLE_OBJECT_MAGIC + schema.fingerprint, schema)
            self._audit = _audit_writer(self._topics)
            return
        if self.registry is None:
            raise ConfigError(NO_REGISTRY)
        for topic, schema_id in register_subjects(self.registry, wire, physical).items():
            schema = wire[topic]
            self._topics[topic] = (bytes([CONFLUENT_MAGIC]) + schema_id.to_bytes(4, "big"), schema)
            self._by_id[schema_id] = (schema.name, schema.parsed, None)
        self._audit = _audit_writer(self._topics)

    # -- encode ---------------------------------------------------------------------------

    def encode(self, name: str, value: Mapping[str, Any], *, strict: bool = False) -> bytes:
        """``value`` in schema ``name``, framed in the configured wire format.

        ``strict`` also rejects keys the schema does not have (for hand-written input such as
        ``purposegate produce``) and any value not exactly of its field's type (no conversion:
        ``policy.type_checks``); without it such keys are dropped, never sent.
        """
        return _write(self._writers.get(name) or self._new_writer(name), value, strict)

    def encode_for(self, topic: str, value: Mapping[str, Any], *, strict: bool = False) -> bytes:
        """``value`` in the record of logical ``topic`` (``bind_topics``); a shared topic's
        record has every route's fields, so a route's value leaves the others null."""
        writer = self._topics.get(topic)
        if writer is None:
            raise EncodeError(f"no schema bound to topic {topic!r} (bind_topics at start-up)")
        # an input record is written exactly as it was validated, or not at all (one door)
        return _write(writer, value, strict or topic in topics.INPUT_TOPICS)

    def encode_audit(self, decision: Decision) -> bytes:
        """``encode_for(AUDIT, decision.audit_record())``: the same bytes, from cached pieces
        (``wire.audit_wire``); fastavro writes what that writer does not take."""
        writer = self._audit
        if writer is not None:
            try:
                return self._topics[topics.AUDIT][0] + writer(decision)
            except Unfit:  # a value fastavro must judge
                pass
        return self.encode_for(topics.AUDIT, decision.audit_record())

    def _new_writer(self, name: str) -> tuple[bytes, Schema]:
        """The Confluent header of a schema written outside a topic binding (tools and tests):
        its subject is the record's full name. Single-object headers are all computed in
        ``__init__``, so there an unknown name is the only way here."""
        schema = self.store.find(name)
        if schema is None:
            raise EncodeError(f"no schema named {name!r} in schemas/")
        if self.registry is None:
            raise ConfigError(NO_REGISTRY)
        schema_id = self.registry.register(schema.full_name, json.dumps(schema.source))
        entry = (bytes([CONFLUENT_MAGIC]) + schema_id.to_bytes(4, "big"), schema)
        self._writers[schema.name] = self._writers[schema.full_name] = entry
        self._by_id[schema_id] = (schema.name, schema.parsed, None)
        return entry

    # -- decode ---------------------------------------------------------------------------

    def decode(self, data: bytes | None) -> Decoded | DecodeError:
        """The record in ``data`` (either wire format), or a ``DecodeError`` saying why not.
        A shared topic's record comes back in its route's shape (``project``).

        Raises only ``SchemaRegistryUnavailableError`` (an unknown Confluent id while the
        registry is down): that is an outage, and good records must not go to the DLQ for it.
        """
        decoded = self._decode(data)
        if isinstance(decoded, Decoded) and decoded.name in self._projections:
            return Decoded(decoded.name, project(decoded.value, self._projections[decoded.name]))
        return decoded

    def _decode(self, data: bytes | None) -> Decoded | DecodeError:
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


def _audit_writer(bound: Mapping[str, tuple[bytes, Schema]]) -> AuditWriter | None:
    """The fast audit writer when the audit topic carries the schema it follows."""
    audit = bound.get(topics.AUDIT)
    if audit is None or audit[1].fingerprint.hex() != AUDIT_FINGERPRINT:
        return None
    return AuditWriter()


def _write(writer: tuple[bytes, Schema], value: Mapping[str, Any], strict: bool) -> bytes:
    header, schema = writer
    body = None if strict else fast_body(schema, value)
    if body is not None:
        return header + body
    fault = exact_fault(schema, value) if strict else None
    if fault is not None:  # fastavro's writer would convert it: "false" written as true
        raise EncodeError(f"{schema.name}: {fault}")
    out = BytesIO()
    out.write(header)
    try:
        schemaless_writer(out, schema.parsed, value, strict=strict)
    except Exception:  # fastavro raises many types; their messages may hold values
        problems = invalid_fields(schema, value, strict=strict) or ["value does not fit"]
        raise EncodeError(f"{schema.name}: " + "; ".join(problems)) from None
    return out.getvalue()


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
