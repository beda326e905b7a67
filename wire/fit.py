"""What is wrong with a value for a schema, one line per field, never a value (for ``EncodeError``
and ``purposegate produce``'s line reports)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastavro.validation import validate

from policy.type_checks import type_fault
from wire.store import Schema


def exact_fault(schema: Schema, value: Any) -> str | None:
    """The first field whose value is not exactly of its type (``policy.type_checks``: no
    string for a boolean, no boolean or float for an integer, no NaN), or None. fastavro's
    own check and writer let such values through as whatever they convert to."""
    if not isinstance(value, Mapping):
        return None  # invalid_fields names it
    for field in schema.source["fields"]:
        name = field["name"]
        if name in value:
            fault = type_fault(field["type"], value[name], name)
            if fault is not None:
                return fault
    return None


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
