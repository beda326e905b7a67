"""``check-policy``'s rules for what input strings hold (``free_form.strings``): every string
of every input schema, at any depth, has a kind; a kind names a string the schema has; a
``free_text`` string never goes out; a ``free_form`` one is a top-level field (a string, a
map of strings or a list of strings), where the inspection reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.free_form import unknown_detectors
from policy.input_schemas import AvroSchema, schema_fields
from policy.models import FreeForm, Policy


def string_paths(schema: AvroSchema) -> dict[str, bool]:
    """Every path of the schema that holds strings, and whether it is a top-level field:
    ``name``, ``answers`` (a map: its keys too), ``skin_concerns`` (a list), ``items[].sku``.

    >>> string_paths({"fields": [{"name": "a", "type": ["null", "string"]},
    ...     {"name": "n", "type": "int"},
    ...     {"name": "r", "type": {"type": "array", "items": {"type": "record",
    ...      "fields": [{"name": "s", "type": "string"}]}}}]})
    {'a': True, 'r[].s': False}
    """
    found: dict[str, bool] = {}
    for name, declared in schema_fields(schema).items():
        _visit(found, name, declared["type"], True)
    return found


def _visit(found: dict[str, bool], path: str, avro_type: Any, top: bool) -> None:
    if isinstance(avro_type, list):
        for branch in avro_type:
            _visit(found, path, branch, top)
        return
    kind = avro_type.get("type") if isinstance(avro_type, Mapping) else avro_type
    if kind == "string" and not (isinstance(avro_type, Mapping) and avro_type.get("logicalType")):
        found[path] = top
    elif kind == "map":
        found[path] = top  # the keys are strings
        _visit(found, path, avro_type.get("values"), top)
    elif kind == "array":
        inner = avro_type.get("items")
        _visit(found, path if inner == "string" else f"{path}[]", inner, top)
    elif kind == "record":
        for name, declared in schema_fields(avro_type).items():
            _visit(found, f"{path}.{name}", declared["type"], False)


def string_kind_faults(policy: Policy, schemas: Mapping[str, AvroSchema]) -> list[str]:
    """Every string without a kind, every kind without a string, and the rules above."""
    free_form = policy.free_form
    if free_form is None:
        return ["free_form: missing: every input string needs a kind (docs/contract.md §3)"]
    faults = unknown_detectors(free_form)
    for topic, spec in policy.inputs.items():
        schema = schemas.get(spec.record)
        if schema is None:
            continue  # named once by schema_faults
        paths = string_paths(schema)
        kinds = free_form.strings.get(topic, {})
        where = f"free_form.strings.{topic}"
        faults += [
            f"{where}: string '{p}' of {spec.record} has no kind" for p in paths if p not in kinds
        ]
        faults += [
            f"{where}.{p}: not a string of {spec.record}.avsc" for p in kinds if p not in paths
        ]
        faults += [
            f"{where}.{p}: free_form is inspected at the top level only (a string, a map or a "
            "list of strings); this string sits inside a record"
            for p, kind in kinds.items()
            if kind == "free_form" and paths.get(p) is False
        ]
    faults += [
        f"free_form.strings.{t}: unknown input topic"
        for t in free_form.strings
        if t not in policy.inputs
    ]
    return faults + _free_text_faults(policy, free_form)


def _free_text_faults(policy: Policy, free_form: FreeForm) -> list[str]:
    """A ``free_text`` string that a route lets out, whatever its category says."""
    faults: list[str] = []
    for index, route in enumerate(policy.routes):
        kinds = free_form.strings.get(route.source, {})
        faults += [
            f"routes[{index}].fields.{field}: free text never goes to any group company"
            for field, rule in route.fields.items()
            if kinds.get(field) == "free_text" and rule.op not in ("drop", "redact")
        ]
    return faults
