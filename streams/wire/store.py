"""The Avro schemas of ``schemas/``, loaded and parsed once, found by name, fingerprint or route.

Every ``*.avsc`` under ``schemas/{input,output,audit,dlq}`` is one named record. For each the
store keeps the fastavro-parsed schema, the parsing canonical form and its CRC-64-AVRO
fingerprint (8 bytes, little-endian, as the single-object encoding puts it on the wire).

Output schemas carry a ``purposegate.route`` attribute (``recipient``, ``purpose``,
``source_topic``, ``topic``) written by ``streams.avro.generate``; the store indexes them by
route so that an ``Output`` finds its schema without naming it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

from streams import topics
from streams.errors import ConfigError
from streams.settings import REPO_ROOT

SCHEMAS_DIR: Final = REPO_ROOT / "schemas"
#: Folders of ``schemas/`` that hold wire schemas, in load order.
KINDS: Final = ("input", "output", "audit", "dlq")
ROUTE_ATTRIBUTE: Final = "purposegate.route"

#: The record of each input topic (CONTRACT.md §1).
INPUT_RECORDS: Final[Mapping[str, str]] = {
    topics.ORDERS: "OrderEvent",
    topics.INQUIRIES: "InquiryEvent",
    topics.CAMPAIGN_ENTRIES: "CampaignEntry",
    topics.CONSENTS: "ConsentChange",
    topics.SUBJECT_REQUESTS: "SubjectRequest",
}
AUDIT_RECORD: Final = "AuditRecord"
DLQ_RECORD: Final = "DeadLetter"


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
        self._schemas = tuple(schemas)
        # The output schemas of each shared topic, by source topic (None: any source). Built
        # once: the worker looks one up for every record it forwards.
        self._by_topic_source: dict[tuple[str, str | None], list[Schema]] = {}
        for route, schema in self._by_route.items():
            for topic_source in ((route.topic, None), (route.topic, route.source_topic)):
                self._by_topic_source.setdefault(topic_source, []).append(schema)

    @classmethod
    def load(cls, policy: object | None = None, root: Path = SCHEMAS_DIR) -> SchemaStore:
        """Read every ``*.avsc`` of ``root/{input,output,audit,dlq}``.

        With ``policy``, also check that ``schemas/output`` is what the policy's routes generate
        (``ConfigError`` naming the stale files otherwise): the wire must never carry a field
        the policy no longer allows.
        """
        schemas: list[Schema] = []
        for kind in KINDS:
            for path in sorted((root / kind).glob("*.avsc")):
                try:
                    source = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise ConfigError(f"{path}: cannot read schema: {exc}") from None
                schemas.append(schema_from_json(source, kind=kind, path=path))
        store = cls(schemas)
        if policy is not None:
            from streams.avro.generate import render, route_specs, stale_files

            stale = stale_files(render(route_specs(policy), store), root / "output")
            if stale:
                raise ConfigError(
                    "schemas/output does not match the policy's routes (run "
                    "'python -m streams.avro.generate'): " + ", ".join(stale)
                )
        return store

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

    def input_schema(self, topic: str) -> Schema:
        """The record of a contract input topic (logical name, no prefix)."""
        return self._by_name[INPUT_RECORDS[topic]]

    def output_schema(self, recipient: str, purpose: str, source_topic: str) -> Schema | None:
        """The output schema of one route, or None when no such route has a schema."""
        return self._by_route.get(Route(recipient, purpose, source_topic))

    def output_schema_for_topic(self, topic: str, source_topic: str | None = None) -> Schema:
        """The output schema of a ``shared.*`` topic (logical name) for one source topic."""
        found = self._by_topic_source.get((topic, source_topic), [])
        if len(found) != 1:
            which = f" from {source_topic}" if source_topic else ""
            raise KeyError(f"{len(found)} output schemas for {topic}{which}; expected one")
        return found[0]

    def routes(self) -> tuple[Route, ...]:
        return tuple(self._by_route)

    def schema_fields(self) -> dict[str, tuple[str, ...]]:
        """Top-level field names of every input schema, by record name (for ``check-policy``)."""
        return {s.name: s.field_names for s in self.of_kind("input")}
