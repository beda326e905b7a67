"""One wire schema per shared topic (``schemas/topics/``), generated from its routes' records.

Standard tools look a value's schema up by topic (subject ``<topic>-value``, TopicNameStrategy),
and Flink's ``avro-confluent``, ksqlDB, Spark and Kafka Connect sinks map one record type to one
table row. So a shared topic carries one record, ``<Recipient><Purpose>``, even where its routes
come from two source topics (e.g. ``shared.septem-souken.product_development``: orders and
questionnaires): the envelope (``source_topic`` says which source a record comes from), then
every field of every route in policy order. A field that every route has keeps its type; a field
that only some routes have becomes nullable with default null, and its doc names the sources
that set it. The same name with two different types on one topic is a policy fault
(``ConfigError``): a reader could not tell them apart.

A topic with one source gets the route's fields unchanged. ``wire.generate`` writes
the files; the codec writes every shared record with its topic's schema and reads it back into
the route's shape (``project``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from policy import topics
from policy.errors import ConfigError
from policy.models import Policy
from wire.store import (
    AUDIT_RECORD,
    DLQ_RECORD,
    ERASURE_RECORD,
    POLICY_RECORD,
    ROUTE_ATTRIBUTE,
    SHADOW_RECORD,
    TOPIC_ATTRIBUTE,
    Schema,
    SchemaStore,
)

NAMED_KINDS: Final = ("record", "enum", "fixed")
NESTED_KEYS: Final = ("type", "items", "values", "fields")


def merge(topic: str, routes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The topic record of ``topic`` from its routes' output records (JSON, policy order)."""
    attribute = routes[0][ROUTE_ATTRIBUTE]
    sources = [r[ROUTE_ATTRIBUTE]["source_topic"] for r in routes]
    fields: dict[str, dict[str, Any]] = {}
    origin: dict[str, list[str]] = {}
    for route, source in zip(routes, sources, strict=True):
        for field in route["fields"]:
            name = field["name"]
            if name not in fields:
                fields[name], origin[name] = dict(field), [source]
                continue
            if _bare(fields[name]["type"]) != _bare(field["type"]):
                raise ConfigError(
                    f"{topic}: field {name!r} has one type in the records of "
                    f"{origin[name][0]} and another in those of {source}; rename one of them "
                    "in the policy (one topic carries one record)"
                )
            origin[name].append(source)
            if field.get("doc") and field["doc"] not in fields[name].get("doc", ""):
                fields[name]["doc"] = f"{fields[name].get('doc', '')} / {field['doc']}"
    merged = [_optional(f, origin[n], sources) for n, f in fields.items()]
    return {
        "type": "record",
        "name": topics.topic_record(attribute["recipient"], attribute["purpose"]),
        "namespace": routes[0]["namespace"],
        "doc": (
            f"Values of topic `{topic}` (records from {', '.join(f'`{s}`' for s in sources)}; "
            "`source_topic` says which). Generated from policy/policy.yaml; do not edit."
        ),
        TOPIC_ATTRIBUTE: {
            "topic": topic,
            "recipient": attribute["recipient"],
            "purpose": attribute["purpose"],
            "sources": sources,
        },
        "fields": _dedupe_named(merged, topic),
    }


def _optional(field: dict[str, Any], origin: list[str], sources: list[str]) -> dict[str, Any]:
    if len(origin) == len(sources):
        return field
    ftype = field["type"]
    branches = list(ftype) if isinstance(ftype, list) else [ftype]
    nullable = ["null", *(b for b in branches if b != "null")]
    only = " and ".join(f"`{s}`" for s in origin)
    doc = f"{field.get('doc', '')} Only in records from {only}; null in the others.".strip()
    return {**field, "type": nullable, "doc": doc, "default": None}


def _bare(avro_type: Any) -> str:
    """A type without docs, to compare two routes' fields."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "doc"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return json.dumps(strip(avro_type), sort_keys=True)


def _dedupe_named(fields: list[dict[str, Any]], topic: str) -> list[dict[str, Any]]:
    """A named type (record, enum) defined by two routes is defined once, then named."""
    seen: dict[str, str] = {}

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(n) for n in node]
        if not isinstance(node, dict):
            return node
        if node.get("type") in NAMED_KINDS:
            name = str(node["name"])
            if name in seen:
                if seen[name] != _bare(node):
                    raise ConfigError(f"{topic}: two different Avro types are named {name}")
                return name
            seen[name] = _bare(node)
        return {k: walk(v) if k in NESTED_KEYS else v for k, v in node.items()}

    return [walk(f) for f in fields]


def render_topics(policy: Policy, routes: Mapping[str, str]) -> dict[str, str]:
    """File name (``<topic>.avsc``) → JSON text of every shared topic's record, from the
    rendered route files (``wire.generate.render``)."""
    by_topic: dict[str, list[Mapping[str, Any]]] = {}
    parsed = [json.loads(text) for text in routes.values()]
    for route in policy.routes:
        topic = topics.shared_topic(route.recipient, route.purpose)
        for schema in parsed:
            attr = schema[ROUTE_ATTRIBUTE]
            if (attr["recipient"], attr["purpose"], attr["source_topic"]) == (
                route.recipient,
                route.purpose,
                route.source,
            ):
                by_topic.setdefault(topic, []).append(schema)
    return {
        f"{topic}.avsc": json.dumps(merge(topic, schemas), indent=2, ensure_ascii=False) + "\n"
        for topic, schemas in by_topic.items()
    }


def wire_schemas(policy: Policy, store: SchemaStore) -> dict[str, Schema]:
    """Logical topic -> the one record it carries: the five inputs, every shared topic of the
    policy, the audit, the DLQ and the kept policy versions (``ConfigError`` for a shared topic
    without its record)."""
    wire = {topic: store.get(spec.record) for topic, spec in policy.inputs.items()}
    for topic in policy.shared_topics():
        schema = store.topic_schema(topic)
        if schema is None:
            raise ConfigError(
                f"no schemas/topics record for {topic} (run 'python -m wire.generate')"
            )
        wire[topic] = schema
    wire[topics.AUDIT] = store.get(AUDIT_RECORD)
    wire[topics.DLQ] = store.get(DLQ_RECORD)
    wire[topics.POLICIES] = store.get(POLICY_RECORD)
    wire[topics.SHADOW] = store.get(SHADOW_RECORD)
    wire[topics.ERASURES] = store.get(ERASURE_RECORD)
    return wire
