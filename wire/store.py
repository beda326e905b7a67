"""The Avro schemas of ``schemas/``, loaded and parsed once, found by name, fingerprint or route.

Every ``*.avsc`` under ``schemas/{input,output,topics,audit,dlq}`` is one named record. For each the
store keeps the fastavro-parsed schema, the parsing canonical form and its CRC-64-AVRO
fingerprint (8 bytes, little-endian, as the single-object encoding puts it on the wire).

Output schemas carry a ``purposegate.route`` attribute (``recipient``, ``purpose``,
``source_topic``, ``topic``) written by ``wire.generate``; an ``Output`` of the engine
names its schema itself (``policy.topics.output_record``). ``wire.generate.load_checked``
loads the store and checks ``schemas/output`` against the policy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

from policy import topics
from policy.errors import ConfigError
from policy.input_schemas import SCHEMAS_DIR, read_avsc

#: Folders of ``schemas/`` that hold wire schemas, in load order.
KINDS: Final = ("input", "output", "topics", "audit", "dlq")
ROUTE_ATTRIBUTE: Final = "purposegate.route"
#: On a shared topic's record (``schemas/topics``): its topic, recipient, purpose and sources.
TOPIC_ATTRIBUTE: Final = "purposegate.topic"

AUDIT_RECORD: Final = "AuditRecord"
DLQ_RECORD: Final = "DeadLetter"
POLICY_RECORD: Final = "PolicyVersion"
SHADOW_RECORD: Final = "ShadowDifference"
ERASURE_RECORD: Final = "ErasureNotice"


@dataclass(frozen=True)
class Route:
    """Where an output schema's records go: one route of the policy."""

    recipient: str
    purpose: str
    source_topic: str

    @property
    def topic(self) -> str:
        return topics.shared_topic(self.recipient, self.purpose)


@dataclass(frozen=True)
class FieldInfo:
    """One top-level field of a schema, as ``check-policy`` and the catalogue see it."""

    name: str
    type: Any  # the field's Avro type as written in the .avsc (str, list or dict)
    doc: str
    nullable: bool


@dataclass(frozen=True, eq=False)
class Schema:
    """One named record schema, parsed once."""

    name: str  # the record's simple name, e.g. "OrderEvent"
    full_name: str  # namespace.name, e.g. "jp.septem.purposegate.OrderEvent"
    kind: str  # input | output | audit | dlq
    path: Path
    source: Mapping[str, Any]  # the .avsc as JSON
    parsed: Any  # fastavro's parsed schema (a dict fastavro treats as opaque)
    canonical: str  # parsing canonical form
    fingerprint: bytes  # CRC-64-AVRO of ``canonical``, 8 bytes little-endian
    fields: tuple[FieldInfo, ...]
    route: Route | None = None
    #: a shared topic's record (kind ``topics``): the topic and the source topics it carries
    topic: str | None = None
    sources: tuple[str, ...] = ()

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> FieldInfo:
        for info in self.fields:
            if info.name == name:
                return info
        raise KeyError(name)


def schema_from_json(source: Mapping[str, Any], *, kind: str, path: Path) -> Schema:
    """Parse one record schema (raises ``ConfigError`` naming the file on a bad schema)."""
    try:
        parsed = parse_schema(dict(source), named_schemas={})
        canonical = to_parsing_canonical_form(dict(source))
    except Exception as exc:  # fastavro raises several types for bad schemas
        raise ConfigError(f"{path}: not a valid Avro schema: {exc}") from None
    if source.get("type") != "record":
        raise ConfigError(f"{path}: a wire schema must be a record")
    namespace = source.get("namespace")
    name = str(source["name"])
    full_name = name if "." in name or not namespace else f"{namespace}.{name}"
    route_attr = source.get(ROUTE_ATTRIBUTE)
    route = (
        Route(route_attr["recipient"], route_attr["purpose"], route_attr["source_topic"])
        if isinstance(route_attr, Mapping)
        else None
    )
    topic_attr = source.get(TOPIC_ATTRIBUTE)
    topic = topic_attr if isinstance(topic_attr, Mapping) else {}
    return Schema(
        name=full_name.rsplit(".", 1)[-1],
        full_name=full_name,
        kind=kind,
        path=path,
        source=source,
        parsed=parsed,
        canonical=canonical,
        fingerprint=bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO")),
        fields=tuple(_field_info(f) for f in source["fields"]),
        route=route,
        topic=topic.get("topic"),
        sources=tuple(topic.get("sources", ())),
    )


def _field_info(field: Mapping[str, Any]) -> FieldInfo:
    ftype = field["type"]
    nullable = ftype == "null" or (isinstance(ftype, list) and "null" in ftype)
    return FieldInfo(str(field["name"]), ftype, str(field.get("doc", "")), nullable)


class SchemaStore:
    """All wire schemas; build once at start-up with ``SchemaStore.load()`` and share it."""

    def __init__(self, schemas: list[Schema]) -> None:
        self._by_name: dict[str, Schema] = {}
        self._by_fingerprint: dict[bytes, Schema] = {}
        self._by_route: dict[Route, Schema] = {}
        self._by_topic: dict[str, Schema] = {}
        for schema in schemas:
            for key in (schema.name, schema.full_name):
                if key in self._by_name and self._by_name[key] is not schema:
                    raise ConfigError(
                        f"{schema.path}: record name {key} also used by {self._by_name[key].path}"
                    )
                self._by_name[key] = schema
            self._by_fingerprint[schema.fingerprint] = schema
            if schema.route is not None:
                self._by_route[schema.route] = schema
            if schema.topic is not None:
                self._by_topic[schema.topic] = schema
        self._schemas = tuple(schemas)

    @classmethod
    def load(cls, root: Path = SCHEMAS_DIR) -> SchemaStore:
        """Read every ``*.avsc`` of ``root/{input,output,topics,audit,dlq}``."""
        schemas: list[Schema] = []
        for kind in KINDS:
            for path in sorted((root / kind).glob("*.avsc")):
                schemas.append(schema_from_json(read_avsc(path), kind=kind, path=path))
        return cls(schemas)

    def __iter__(self) -> Iterator[Schema]:
        return iter(self._schemas)

    def __len__(self) -> int:
        return len(self._schemas)

    def get(self, name: str) -> Schema:
        """A schema by simple or full name; ``KeyError`` for an unknown name."""
        return self._by_name[name]

    def find(self, name: str) -> Schema | None:
        return self._by_name.get(name)

    def by_fingerprint(self, fp: bytes) -> Schema | None:
        return self._by_fingerprint.get(fp)

    def of_kind(self, kind: str) -> tuple[Schema, ...]:
        return tuple(s for s in self._schemas if s.kind == kind)

    def output_schema(self, recipient: str, purpose: str, source_topic: str) -> Schema | None:
        """The output schema of one route, or None when no such route has a schema."""
        return self._by_route.get(Route(recipient, purpose, source_topic))

    def topic_schema(self, topic: str) -> Schema | None:
        """The wire record of a shared topic (``schemas/topics``), or None."""
        return self._by_topic.get(topic)

    def routes(self) -> tuple[Route, ...]:
        return tuple(self._by_route)
