"""The contract's input rules (docs/contract.md §1) beyond types, as prepared checks.

* every string (and every key) is valid Unicode, within a size limit per string, and the whole
  record within a size limit per record;
* ranges (``birth_year`` 1900..the current year, amounts ≥ 0, ``quantity`` ≥ 1, ``rating``
  1–5) and formats (``country``: an assigned ISO 3166-1 alpha-2 code in upper case), named
  by path in the policy (``items[].quantity``);
* ``event_time`` not more than a skew ahead of the processing clock.

The limits come from the settings (``InputLimits``), the ranges and formats from the policy;
the processing clock is an argument (``now``). A fault is a readable text that names the field
by path and never quotes a value. A record's size is the UTF-8 bytes of all its strings and
keys, plus 8 per other value: the same for a JSON line and for an Avro record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple

import pycountry

from policy.models import CURRENT_YEAR, InputTopic, RangeBounds

#: A key quoted in an error message looks like a field name; any other key is data.
SAFE_KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,63}")
#: Bytes counted for a value that is not a string (a number, a boolean, a time, null).
SCALAR_BYTES: Final = 8

#: Every assigned ISO 3166-1 alpha-2 code (upper case), from the pycountry package.
ISO_3166_ALPHA_2: Final = frozenset(country.alpha_2 for country in pycountry.countries)
FORMATS: Final[Mapping[str, tuple[frozenset[str], str]]] = {
    "iso_3166_1_alpha_2": (ISO_3166_ALPHA_2, "an assigned ISO 3166-1 alpha-2 code in upper case"),
}


@dataclass(frozen=True, slots=True)
class InputLimits:
    """Limits on input records (``Settings.input_limits()`` builds them from the env)."""

    max_future_skew: timedelta = timedelta(minutes=5)
    max_string_bytes: int = 64 * 1024
    max_record_bytes: int = 1024 * 1024


DEFAULT_LIMITS: Final = InputLimits()


class Fault(NamedTuple):
    kind: str  # an error kind of policy.validation.ErrorKind
    text: str


# --- strings and sizes ----------------------------------------------------------------------


def content_fault(
    value: Any, limits: InputLimits, names: frozenset[str] = frozenset()
) -> Fault | None:
    """A lone surrogate, an oversized string or an oversized record anywhere in ``value``.
    ``names``: the keys the policy classifies in the topic's records, at any depth; the
    fault names only those (any other key is data a producer chose, maybe personal)."""
    max_string, max_record = limits.max_string_bytes, limits.max_record_bytes
    total = 0
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            keys = _leaf_bytes(item, stack, max_string)
            values = _leaf_bytes(item.values(), stack, max_string)
            size = -1 if keys < 0 or values < 0 else keys + values
        else:
            size = _leaf_bytes(item if isinstance(item, list) else (item,), stack, max_string)
        if size < 0:
            return _locate(value, limits, names)
        total += size
    if total > max_record:
        return Fault("too_large", f"the record is larger than the limit of {max_record} bytes")
    return None


def _leaf_bytes(items: Iterable[Any], stack: list[Any], max_string: int) -> int:
    """The bytes of the scalars among ``items`` (containers go on ``stack``, walked later);
    -1 when a string is over ``max_string`` or holds a lone surrogate."""
    total = 0
    for item in items:
        if isinstance(item, str):
            size = len(item) if item.isascii() else _utf8_size(item)
            if size is None or size > max_string:
                return -1
            total += size
        elif isinstance(item, dict | list):
            stack.append(item)
        elif max_string < SCALAR_BYTES:  # a limit below a scalar's count: as the walk judged
            return -1
        else:
            total += SCALAR_BYTES
    return total


def _utf8_size(text: str) -> int | None:
    """The UTF-8 size of a string, or None when it holds a lone surrogate."""
    if text.isascii():
        return len(text)
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def _locate(value: Any, limits: InputLimits, names: frozenset[str]) -> Fault:
    """Which string is at fault (the slow path, taken once per bad record)."""
    for where, is_key, text in _strings(value, "", names):
        size = _utf8_size(text)
        place = f"a key inside '{where}'" if is_key and where else "a key of the record"
        named = place if is_key else f"field '{where}'"
        if size is None:
            return Fault("invalid_unicode", f"{named} is not valid Unicode (a lone surrogate)")
        if size > limits.max_string_bytes:
            limit = limits.max_string_bytes
            return Fault("too_large", f"{named} is longer than the limit of {limit} bytes")
    return Fault("too_large", "the record is too large")  # pragma: no cover - found above


def _strings(value: Any, where: str, names: frozenset[str]) -> Iterator[tuple[str, bool, str]]:
    """(path, is a key, text) of every string; a key is named only when the policy classifies
    it (an unclassified key or a map key is data: ``<key>``)."""
    if isinstance(value, str):
        yield where, False, value
    elif isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(key, str):
                yield where, True, key
            name = key if key in names else "<key>"
            yield from _strings(inner, f"{where}.{name}" if where else name, names)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _strings(inner, f"{where}[{index}]", names)


# --- ranges and formats ---------------------------------------------------------------------

#: A prepared check of one path: (record, now) -> its fault or None.
Check = Callable[[Mapping[str, Any], datetime], Fault | None]


def value_checks(spec: InputTopic) -> tuple[Check, ...]:
    """The policy's ranges and formats of one topic, prepared."""
    checks = [_range_check(path, bounds) for path, bounds in spec.ranges.items()]
    checks += [_format_check(path, name) for path, name in spec.formats.items()]
    return tuple(checks)


def _range_check(path: str, bounds: RangeBounds) -> Check:
    low, high = bounds
    label = f"{low}..the current year" if high == CURRENT_YEAR else f"{low}..{high}"
    if high is None:
        label = f"at least {low}"
    steps = _steps(path)

    def check(record: Mapping[str, Any], now: datetime) -> Fault | None:
        top = now.year if high == CURRENT_YEAR else high if isinstance(high, int) else None
        for number in values_at(record, steps):
            if isinstance(number, int) and (number < low or (top is not None and number > top)):
                return Fault("out_of_range", f"field '{path}' must be {label}")
        return None

    return check


def _format_check(path: str, name: str) -> Check:
    allowed, description = FORMATS[name]
    steps = _steps(path)

    def check(record: Mapping[str, Any], now: datetime) -> Fault | None:
        for text in values_at(record, steps):
            if text is not None and text not in allowed:
                return Fault("unknown_enum", f"field '{path}' must be {description}")
        return None

    return check


def _steps(path: str) -> tuple[str, ...]:
    """``items[].quantity`` -> ("items", "[]", "quantity"); ``x{}.y`` -> ("x", "{}", "y")."""
    steps: list[str] = []
    for part in path.split("."):
        name = part.rstrip("[]{}")
        steps.append(name)
        rest = part[len(name) :]
        steps += [rest[i : i + 2] for i in range(0, len(rest), 2)]
    return tuple(steps)


def values_at(value: Any, steps: tuple[str, ...]) -> Iterator[Any]:
    """Every value at a path (missing or null containers give nothing)."""
    if not steps:
        yield value
        return
    step, rest = steps[0], steps[1:]
    if step == "[]":
        for item in value if isinstance(value, list) else ():
            yield from values_at(item, rest)
    elif step == "{}":
        for item in value.values() if isinstance(value, Mapping) else ():
            yield from values_at(item, rest)
    elif isinstance(value, Mapping) and value.get(step) is not None:
        yield from values_at(value[step], rest)


def future_fault(event_time: datetime, now: datetime, limits: InputLimits) -> str | None:
    """``event_time`` more than the allowed skew ahead of the processing clock."""
    skew = limits.max_future_skew
    if event_time > now + skew:
        return f"field 'event_time' is more than {skew.total_seconds():g} s ahead of the clock"
    return None
