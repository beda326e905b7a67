"""The type checks of input values against their Avro types: the walk that names a fault
(``type_fault``, which converts nothing: a string is no boolean, a boolean no integer, a float
no integer, NaN and the infinities no number, an integer out of its type's range none), and
quick checks of validated fields, prepared once per field of an input schema.

``policy.validation`` checks every field of every input record against its Avro type, and the
walk that names a fault (``_type_fault``) costs a few calls per field. Almost every value fits,
so each field gets a check built once from its type that answers "fits" with a class test or
two; only a value it does not pass is walked. A check says True only where the walk finds no
fault (exact classes: a str, an int that is no bool and in range, a list, a dict); anything
else, and any type not listed here, goes to the walk.

>>> fits = quick_check(["null", "int"])
>>> fits(None), fits(3), fits(True), fits(2**40)
(True, True, False, False)
>>> quick_check({"type": "map", "values": "string"}) is None
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final

Check = Callable[[Any], bool]

INT_MIN: Final = -(2**31)
INT_MAX: Final = 2**31 - 1
LONG_MIN: Final = -(2**63)
LONG_MAX: Final = 2**63 - 1
TIMESTAMP: Final = "timestamp-millis"


def _string(value: Any) -> bool:
    return value.__class__ is str


def _long(value: Any) -> bool:
    return value.__class__ is int and LONG_MIN <= value <= LONG_MAX


def _int(value: Any) -> bool:
    return value.__class__ is int and INT_MIN <= value <= INT_MAX


def _boolean(value: Any) -> bool:
    return value.__class__ is bool


def _null(value: Any) -> bool:
    return value is None


PRIMITIVES: Final[Mapping[str, Check]] = {
    "string": _string,
    "long": _long,
    "int": _int,
    "boolean": _boolean,
    "null": _null,
}


def quick_check(avro_type: Any) -> Check | None:
    """A check of ``avro_type`` that passes only values without a type fault, or None."""
    if isinstance(avro_type, str):
        return PRIMITIVES.get(avro_type)
    if isinstance(avro_type, list):
        branches = [quick_check(branch) for branch in avro_type]
        if not branches or any(branch is None for branch in branches):
            return None
        checks = tuple(b for b in branches if b is not None)
        return lambda value: any(check(value) for check in checks)
    if not isinstance(avro_type, Mapping) or "logicalType" in avro_type:
        return None
    kind = avro_type.get("type")
    if kind == "array":
        item = quick_check(avro_type["items"])
        if item is None:
            return None
        return lambda value: value.__class__ is list and all(item(v) for v in value)
    if kind == "record":
        return _record(avro_type)
    return None


def _record(avro_type: Mapping[str, Any]) -> Check | None:
    fields: list[tuple[str, Check, bool]] = []
    for field in avro_type.get("fields", ()):
        check = quick_check(field["type"])
        if check is None:
            return None
        fields.append((field["name"], check, "default" in field))
    steps = tuple(fields)

    def record(value: Any) -> bool:
        if value.__class__ is not dict:
            return False
        for name, check, has_default in steps:
            if name in value:
                if not check(value[name]):
                    return False
            elif not has_default:
                return False
        return True

    return record


def parse_timestamp(value: Any) -> datetime | None:
    """An aware datetime as UTC, or an ISO-8601 string with an offset (``Z``) as one; None for
    anything else, and for a string finer than a millisecond (``timestamp-millis`` cannot
    hold it: the record would not decode to the value that was checked).

    >>> parse_timestamp("2026-11-24T09:30:00.123Z").microsecond
    123000
    >>> parse_timestamp("2026-11-24T09:30:00.1234Z") is None, parse_timestamp(1) is None
    (True, True)
    """
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo is not None else None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None or moment.microsecond % 1000:
        return None
    return moment.astimezone(UTC)


def is_timestamp(avro_type: Any) -> bool:
    return isinstance(avro_type, dict) and avro_type.get("logicalType") == TIMESTAMP


_PRIMITIVES: Final[Mapping[str, str]] = {
    "string": "a string",
    "int": "an int",
    "long": "a long",
    "boolean": "a boolean",
    "double": "a number",
    "float": "a number",
    "null": "null",
}


def type_fault(avro_type: Any, value: Any, where: str) -> str | None:
    """Why ``value`` does not fit ``avro_type`` (naming ``where``, not the value), or None."""
    if isinstance(avro_type, list):
        if any(type_fault(branch, value, where) is None for branch in avro_type):
            return None
        if value is None:
            return f"field '{where}' must not be null"
        return f"field '{where}' must be {' or '.join(_describe(b) for b in avro_type)}"
    if isinstance(avro_type, str):
        return (
            None
            if _primitive_ok(avro_type, value)
            else f"field '{where}' must be {_describe(avro_type)}"
        )
    if isinstance(avro_type, dict):
        return _complex_fault(avro_type, value, where)
    return f"field '{where}' has an unsupported schema type"


def _complex_fault(avro_type: Mapping[str, Any], value: Any, where: str) -> str | None:
    kind = avro_type.get("type")
    if kind == "array":
        if not isinstance(value, list):
            return f"field '{where}' must be an array"
        return _first(
            type_fault(avro_type["items"], v, f"{where}[{i}]") for i, v in enumerate(value)
        )
    if kind == "map":
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            return f"field '{where}' must be a map with string keys"
        # a map's keys are data: the path names the map, not the key
        return _first(type_fault(avro_type["values"], v, f"{where}{{}}") for v in value.values())
    if kind == "record":
        if not isinstance(value, dict):
            return f"field '{where}' must be a record"
        return _first(_record_field_faults(avro_type, value, where))
    if is_timestamp(avro_type):
        return (
            None if parse_timestamp(value) is not None else f"field '{where}' must be a timestamp"
        )
    return type_fault(kind, value, where)


def _record_field_faults(
    avro_type: Mapping[str, Any], value: Mapping[str, Any], where: str
) -> Iterator[str | None]:
    for f in avro_type.get("fields", ()):
        name = f"{where}.{f['name']}"
        if f["name"] not in value:
            yield None if "default" in f else f"field '{name}' is missing"
        else:
            yield type_fault(f["type"], value[f["name"]], name)


def _first(faults: Iterator[str | None]) -> str | None:
    return next((f for f in faults if f is not None), None)


def _primitive_ok(name: str, value: Any) -> bool:
    if name == "null":
        return value is None
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if name == "int":
        return isinstance(value, int) and INT_MIN <= value <= INT_MAX
    if name == "long":
        return isinstance(value, int) and LONG_MIN <= value <= LONG_MAX
    if name in ("double", "float"):  # never NaN nor an infinity: JSON has neither
        return isinstance(value, int | float) and math.isfinite(value)
    return False


def _describe(avro_type: Any) -> str:
    if isinstance(avro_type, str):
        return _PRIMITIVES.get(avro_type, avro_type)
    if isinstance(avro_type, dict):
        return f"a {avro_type.get('type')}"
    return "a union"
