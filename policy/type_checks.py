"""Quick type checks of validated fields, prepared once per field of an input schema.

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

from collections.abc import Callable, Mapping
from typing import Any, Final

Check = Callable[[Any], bool]

INT_MIN: Final = -(2**31)
INT_MAX: Final = 2**31 - 1


def _string(value: Any) -> bool:
    return value.__class__ is str


def _long(value: Any) -> bool:
    return value.__class__ is int


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
