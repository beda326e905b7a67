"""Avro bodies of the records the worker writes, by a writer compiled once per schema.

fastavro's ``schemaless_writer`` walks the schema for every record (a union's branches are
matched by validating the value against each), about 0.5 µs a field: 7–20 µs for one shared
topic record. ``compile_writer`` turns a record schema into a plain function that writes the
types our wire schemas use (strings, ints, longs, ``timestamp-millis``, ``["null", X]``, arrays,
maps, records), with each absent field's default encoded ahead. It writes fastavro's bytes and
takes nothing fastavro would not: any value of another type than its field's (a bool for an
int, a naive time, a lone surrogate, a field absent without a default) raises ``Unfit``, and
the codec then writes the record with fastavro, whose bytes or error are the answer. A schema
with a type outside that list gets no writer (``None``): fastavro writes all its records.

>>> write = compile_writer({"type": "record", "name": "R", "fields": [
...     {"name": "a", "type": "string"}, {"name": "b", "type": ["null", "int"], "default": None}]})
>>> write({"a": "é"}), write({"a": "x", "b": -2})
(b'\\x04\\xc3\\xa9\\x00', b'\\x02x\\x02\\x03')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Protocol

Write = Callable[[Any, list[bytes]], None]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SMALL: Final = tuple(bytes((z,)) for z in range(128))  # zig-zag values of -64..63
_ZERO: Final = b"\x00"
_ONE: Final = b"\x02"  # the long 1: a union's second branch
_INT_RANGE: Final = (-(2**31), 2**31 - 1)
_LONG_RANGE: Final = (-(2**63), 2**63 - 1)
_ABSENT: Final = object()


class Unfit(Exception):  # noqa: N818 - a signal to write with fastavro, not an error
    """A value this writer does not take: fastavro must write (or refuse) the record."""


def long_bytes(n: int) -> bytes:
    """Avro's long: zig-zag, then base-128 varint.

    >>> long_bytes(0), long_bytes(-1), long_bytes(1), long_bytes(64)
    (b'\\x00', b'\\x01', b'\\x02', b'\\x80\\x01')
    """
    z = (n << 1) ^ (n >> 63)
    if z < 0x80:
        return _SMALL[z]
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def string_bytes(text: str) -> bytes:
    """Avro's string: its UTF-8 length, then the bytes (``Unfit`` for anything else)."""
    if text.__class__ is not str:
        raise Unfit
    try:
        data = text.encode()
    except UnicodeEncodeError:
        raise Unfit from None
    return long_bytes(len(data)) + data


def millis(moment: Any) -> int:
    """A ``timestamp-millis`` as fastavro computes it (aware datetimes only, or an int)."""
    if moment.__class__ is int:
        return int(moment)
    if moment.__class__ is not datetime or moment.tzinfo is None:
        raise Unfit
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


def compile_writer(schema: Mapping[str, Any]) -> Callable[[Any], bytes] | None:
    """``write(value) -> body`` for a record schema (its JSON source), or None when it has a
    type this module does not write."""
    try:
        record = _compile(schema, {}, "")
    except _Unsupported:
        return None

    def write(value: Any) -> bytes:
        out: list[bytes] = []
        record(value, out)
        return b"".join(out)

    return write


class HasSource(Protocol):
    """A schema as ``wire.store.Schema`` has it: hashable, with its JSON source."""

    @property
    def source(self) -> Mapping[str, Any]: ...


#: schema -> its compiled writer; None: fastavro writes all its records.
_WRITERS: dict[HasSource, Callable[[Any], bytes] | None] = {}


def fast_body(schema: HasSource, value: Any) -> bytes | None:
    """``value``'s body in ``schema`` by its compiled writer (compiled on first use), or None
    when fastavro must write it (a schema or a value this module does not take)."""
    if schema in _WRITERS:
        writer = _WRITERS[schema]
    else:
        writer = _WRITERS[schema] = compile_writer(schema.source)
    if writer is None:
        return None
    try:
        return writer(value)
    except (Unfit, UnicodeEncodeError):
        return None


class _Unsupported(Exception):
    """A schema type this module leaves to fastavro."""


def _compile(avro_type: Any, named: dict[str, Write], space: str) -> Write:
    if isinstance(avro_type, str):
        return _by_name(avro_type, named, space)
    if isinstance(avro_type, list):
        return _optional(avro_type, named, space)
    if not isinstance(avro_type, Mapping):
        raise _Unsupported
    kind = avro_type.get("type")
    if avro_type.get("logicalType") == "timestamp-millis" and kind == "long":
        return _timestamp
    if avro_type.get("logicalType") is not None:
        raise _Unsupported
    if kind == "array":
        return _array(_compile(avro_type["items"], named, space))
    if kind == "map":
        return _map(_compile(avro_type["values"], named, space))
    if kind == "record":
        return _record(avro_type, named, space)
    return _compile(kind, named, space)


def _by_name(name: str, named: dict[str, Write], space: str) -> Write:
    found = _PRIMITIVES.get(name) or named.get(_full_name(name, space))
    if found is None:
        raise _Unsupported(name)
    return found


def _full_name(name: str, space: str) -> str:
    """A type name as Avro resolves it: a dotted name is full, else in the enclosing space."""
    return name if "." in name or not space else f"{space}.{name}"


def _optional(branches: list[Any], named: dict[str, Write], space: str) -> Write:
    """``["null", X]`` or ``[X, "null"]``: fastavro's choice for None is the null branch, for
    anything else X."""
    if len(branches) != 2 or branches.count("null") != 1:
        raise _Unsupported
    null_first = branches[0] == "null"
    inner = _compile(branches[1] if null_first else branches[0], named, space)
    null, other = (_ZERO, _ONE) if null_first else (_ONE, _ZERO)

    def optional(value: Any, out: list[bytes]) -> None:
        if value is None:
            out.append(null)
        else:
            out.append(other)
            inner(value, out)

    return optional


def _record(schema: Mapping[str, Any], named: dict[str, Write], space: str) -> Write:
    steps: list[tuple[str, Write, bytes | None]] = []

    def record(value: Any, out: list[bytes]) -> None:
        if value.__class__ is not dict:
            raise Unfit
        get = value.get
        for name, write, default in steps:
            item = get(name, _ABSENT)
            if write is _string and item.__class__ is str:  # most fields: no call
                data = item.encode()  # UnicodeEncodeError: fast_body leaves it to fastavro
                size = len(data)
                out.append(_SMALL[size << 1] if size < 64 else long_bytes(size))
                out.append(data)
            elif item is _ABSENT:
                if default is None:
                    raise Unfit
                out.append(default)
            else:
                write(item, out)

    full = _full_name(str(schema["name"]), str(schema.get("namespace", space)))
    named[full] = record
    inner = full.rsplit(".", 1)[0] if "." in full else ""
    for field in schema["fields"]:
        write = _compile(field["type"], named, inner)
        steps.append((str(field["name"]), write, _default(write, field)))
    return record


def _default(write: Write, field: Mapping[str, Any]) -> bytes | None:
    """The bytes of an absent field: its default, written once now (None: no default, or
    one fastavro must judge)."""
    if "default" not in field:
        return None
    out: list[bytes] = []
    try:
        write(field["default"], out)
    except Unfit:
        return None
    return b"".join(out)


def _array(item: Write) -> Write:
    def array(value: Any, out: list[bytes]) -> None:
        if value.__class__ is not list:
            raise Unfit
        if value:
            out.append(long_bytes(len(value)))
            for entry in value:
                item(entry, out)
        out.append(_ZERO)

    return array


def _map(item: Write) -> Write:
    def mapping(value: Any, out: list[bytes]) -> None:
        if value.__class__ is not dict:
            raise Unfit
        if value:
            out.append(long_bytes(len(value)))
            for key, entry in value.items():
                out.append(string_bytes(key))
                item(entry, out)
        out.append(_ZERO)

    return mapping


def _string(value: Any, out: list[bytes]) -> None:
    out.append(string_bytes(value))


def _integer(low: int, high: int) -> Write:
    def integer(value: Any, out: list[bytes]) -> None:
        if value.__class__ is not int or not low <= value <= high:
            raise Unfit
        out.append(long_bytes(value))

    return integer


def _timestamp(value: Any, out: list[bytes]) -> None:
    moment = millis(value)
    if not _LONG_RANGE[0] <= moment <= _LONG_RANGE[1]:
        raise Unfit
    out.append(long_bytes(moment))


def _bytes(value: Any, out: list[bytes]) -> None:
    if value.__class__ is not bytes:
        raise Unfit
    out.append(long_bytes(len(value)))
    out.append(value)


def _null(value: Any, out: list[bytes]) -> None:
    if value is not None:
        raise Unfit


def _boolean(value: Any, out: list[bytes]) -> None:
    if value is True:
        out.append(b"\x01")
    elif value is False:
        out.append(_ZERO)
    else:
        raise Unfit


_PRIMITIVES: Final[Mapping[str, Write]] = {
    "string": _string,
    "int": _integer(*_INT_RANGE),
    "long": _integer(*_LONG_RANGE),
    "null": _null,
    "boolean": _boolean,
    "bytes": _bytes,
}
