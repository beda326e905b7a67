"""The classified shape of an input record at every depth, prepared once per topic.

A ``Shape`` is the set of keys the policy classifies in one record (the input record, or a
record nested in it, such as each entry of ``items``) and, for the keys that hold records,
the shape of those. With it the engine finds every unclassified key at any depth, by path
(``items[].card_number``), and builds output values from the allowlist at every depth: a kept
list of records becomes a list of new records holding only the classified keys. Nothing here
copies an input container. Values are checked with ``isinstance(x, dict)``: validated records
are plain dicts at every depth (JSON and Avro both decode to them), and the check is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from policy.input_schemas import AvroSchema, schema_fields
from policy.models import InputTopic

Projector = Callable[[Any], Any]

ARRAY: Final = "[]"
MAP: Final = "{}"


@dataclass(frozen=True, slots=True)
class Shape:
    """The classified keys of one record, and the records held by some of them."""

    keys: frozenset[str]
    #: (key, how the records sit in its value: "" a record, "[]" array entries, "{}" map values
    #: (or a chain of those), the records' shape)
    inner: tuple[tuple[str, str, Shape], ...] = ()


def record_shape(schema: AvroSchema, spec: InputTopic, path: str = "") -> Shape:
    """The shape of the record at ``path`` ("" for the input record itself)."""
    classified = spec.nested.get(path, {}) if path else spec.fields
    inner: list[tuple[str, str, Shape]] = []
    for name, declared in schema_fields(schema).items():
        held = _held_record(declared["type"])
        if held is not None:
            suffix, record = held
            sub_path = f"{path}.{name}{suffix}" if path else f"{name}{suffix}"
            inner.append((name, suffix, record_shape(record, spec, sub_path)))
    return Shape(frozenset(classified), tuple(inner))


def _held_record(avro_type: Any) -> tuple[str, AvroSchema] | None:
    """Where a field's value holds records ("" itself, "[]" entries, "{}" values), or None."""
    if isinstance(avro_type, list):
        held = [h for h in (_held_record(b) for b in avro_type) if h is not None]
        return held[0] if held else None
    if not isinstance(avro_type, Mapping):
        return None
    kind = avro_type.get("type")
    if kind == "record":
        return "", avro_type
    if kind in ("array", "map"):
        inner = _held_record(avro_type["items" if kind == "array" else "values"])
        if inner is not None:
            return (ARRAY if kind == "array" else MAP) + inner[0], inner[1]
    return None


def unclassified_paths(record: Mapping[str, Any], shape: Shape) -> tuple[str, ...]:
    """Every key the policy does not classify, at any depth, by path, sorted and distinct."""
    if not shape.inner:
        # the common case first: every key classified (a check, no set built)
        return () if shape.keys.issuperset(record) else tuple(sorted(record.keys() - shape.keys))
    found = set() if shape.keys.issuperset(record) else set(record.keys() - shape.keys)
    _collect(record, shape, "", found)
    return tuple(sorted(found))


def _collect(record: Mapping[str, Any], shape: Shape, prefix: str, found: set[str]) -> None:
    for key, suffix, inner in shape.inner:
        value = record.get(key)
        if value is None:
            continue
        keys = inner.keys
        # the common case first: a list of flat records (order lines)
        nested = (
            value if suffix == ARRAY and isinstance(value, list) else _records_at(value, suffix)
        )
        for item in nested:
            if not isinstance(item, dict):
                continue
            if not keys.issuperset(item):
                found.update(f"{prefix}{key}{suffix}.{k}" for k in item.keys() - keys)
            if inner.inner:
                _collect(item, inner, f"{prefix}{key}{suffix}.", found)


def _records_at(value: Any, suffix: str) -> Iterator[Mapping[str, Any]]:
    if not suffix:
        if isinstance(value, dict):
            yield value
        return
    if suffix.startswith(ARRAY) and isinstance(value, list):
        for item in value:
            yield from _records_at(item, suffix[2:])
    elif suffix.startswith(MAP) and isinstance(value, dict):
        for item in value.values():
            yield from _records_at(item, suffix[2:])


def projector(avro_type: Any, spec: InputTopic, path: str) -> Projector | None:
    """A function building the output value of a kept field from the allowlist at every
    depth (new lists, maps and records; records keep only their classified keys, in schema
    order), or None when the value is a scalar and goes as it is."""
    if isinstance(avro_type, list):
        branches = [p for p in (projector(b, spec, path) for b in avro_type) if p is not None]
        if not branches:
            return None
        if len(branches) > 1:  # no input schema has two container branches: never guess
            return _nothing
        only = branches[0]
        return lambda value: None if value is None else only(value)
    if not isinstance(avro_type, Mapping) or avro_type.get("logicalType"):
        return None
    kind = avro_type.get("type")
    if kind == "array":
        items = avro_type["items"]
        flat = _flat_keys(items, spec, f"{path}[]")
        if flat is not None:  # the hot case (order lines): one function, no frame per entry
            return _list_of_flat_records(flat)
        return _list_of(projector(items, spec, f"{path}[]"))
    if kind == "map":
        return _map_of(projector(avro_type["values"], spec, f"{path}{{}}"))
    if kind == "record":
        return _record_of(avro_type, spec, path)
    return None


def _list_of(item: Projector | None) -> Projector:
    if item is None:
        return lambda value: [v for v in value if _scalar(v)] if isinstance(value, list) else None
    return lambda value: [item(v) for v in value] if isinstance(value, list) else None


def _map_of(item: Projector | None) -> Projector:
    def scalars(value: Any) -> Any:
        if not isinstance(value, dict):
            return None
        return {k: v for k, v in value.items() if _scalar(v)}

    if item is None:
        return scalars
    return lambda value: {k: item(v) for k, v in value.items()} if isinstance(value, dict) else None


def _flat_keys(avro_type: Any, spec: InputTopic, path: str) -> tuple[tuple[str, Any], ...] | None:
    """(key, default) of a record whose classified keys all hold scalars; None otherwise."""
    if not isinstance(avro_type, Mapping) or avro_type.get("type") != "record":
        return None
    classified = spec.nested.get(path, {})
    fields = [f for name, f in schema_fields(avro_type).items() if name in classified]
    if any(projector(f["type"], spec, f"{path}.{f['name']}") is not None for f in fields):
        return None
    return tuple((str(f["name"]), f.get("default")) for f in fields)


def _list_of_flat_records(flat: tuple[tuple[str, Any], ...]) -> Projector:
    def records(value: Any) -> Any:
        if value.__class__ is not list:
            return None
        return [
            {name: item.get(name, default) for name, default in flat}
            if item.__class__ is dict
            else None
            for item in value
        ]

    return records


def _record_of(avro_type: Mapping[str, Any], spec: InputTopic, path: str) -> Projector:
    classified = spec.nested.get(path, {})
    steps = tuple(
        (name, projector(f["type"], spec, f"{path}.{name}"), f.get("default"))
        for name, f in schema_fields(avro_type).items()
        if name in classified
    )
    if all(project is None for _, project, _ in steps):
        flat = tuple((name, default) for name, _, default in steps)

        def flat_record(value: Any) -> Any:
            if not isinstance(value, dict):
                return None
            get = value.get
            return {name: get(name, default) for name, default in flat}

        return flat_record

    def record(value: Any) -> Any:
        if not isinstance(value, dict):
            return None
        built: dict[str, Any] = {}
        for name, project, default in steps:
            item = value.get(name, default)
            built[name] = item if project is None else project(item)
        return built

    return record


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _nothing(value: Any) -> None:
    return None


def only_keys(avro_type: Any, only: tuple[str, ...]) -> Any:
    """The type with the records inside cut to the ``only`` fields (the record keeps its name:
    Avro matches records by name, and each output schema is parsed on its own).

    >>> cut = only_keys({"type": "array", "items": {"type": "record", "name": "Line", "fields": [
    ...     {"name": "sku", "type": "string"}, {"name": "n", "type": "int"}]}}, ("sku",))
    >>> cut["items"]["name"], [f["name"] for f in cut["items"]["fields"]]
    ('Line', ['sku'])
    """
    if isinstance(avro_type, list):
        return [only_keys(branch, only) for branch in avro_type]
    if not isinstance(avro_type, Mapping):
        return avro_type
    kind = avro_type.get("type")
    if kind == "array":
        return {**avro_type, "items": only_keys(avro_type["items"], only)}
    if kind == "record":  # same name: a reader reads lines written whole before (BACKWARD)
        return {**avro_type, "fields": [f for f in avro_type["fields"] if f["name"] in only]}
    return avro_type


def only_nested(
    nested: Mapping[str, Mapping[str, str]], field: str, only: tuple[str, ...]
) -> dict[str, dict[str, str]]:
    """The nested classification with the records under ``field`` cut to the ``only`` keys.

    >>> only_nested({"items[]": {"sku": "p", "unit_price_jpy": "p"}}, "items", ("sku",))
    {'items[]': {'sku': 'p'}}
    """
    return {
        path: {k: c for k, c in keys.items() if k in only}
        if path.startswith((f"{field}[", f"{field}{{", f"{field}."))
        else dict(keys)
        for path, keys in nested.items()
    }
