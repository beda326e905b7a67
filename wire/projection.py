"""A shared topic's record read back in its route's shape (``Codec.decode``).

A shared topic fed by several source topics carries one record with every route's fields; a
record read back drops the null fields of the other sources' routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wire.store import SchemaStore

Projection = Mapping[str, frozenset[str]]


def projections(store: SchemaStore) -> dict[str, Projection]:
    """Topic record name -> source topic -> the fields of that source's route, for every
    shared topic with more than one source (the others carry exactly their route's fields)."""
    out: dict[str, Projection] = {}
    for schema in store.of_kind("topics"):
        if len(schema.sources) < 2:
            continue
        by_source: dict[str, frozenset[str]] = {}
        for route in store.routes():
            route_schema = store.output_schema(route.recipient, route.purpose, route.source_topic)
            if route.topic == schema.topic and route_schema is not None:
                by_source[route.source_topic] = frozenset(route_schema.field_names)
        out[schema.name] = by_source
    return out


def project(value: dict[str, Any], fields: Projection) -> dict[str, Any]:
    """A shared topic's record in its route's shape: the null fields of the other sources
    dropped. A field outside the route that holds a value is kept (it shows, never hides).

    >>> project({"source_topic": "a", "x": 1, "y": None, "z": 2},
    ...         {"a": frozenset({"source_topic", "x"})})
    {'source_topic': 'a', 'x': 1, 'z': 2}
    """
    keep = fields.get(str(value.get("source_topic")))
    if keep is None:
        return value
    return {k: v for k, v in value.items() if k in keep or v is not None}
