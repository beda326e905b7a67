"""Field operators, one small class each, in a registry keyed by the policy's operator name.

An operator says which output key a field becomes (``None``: the field does not go out),
whether any of the value leaves, which parameters it takes, and builds a transform once at
start-up. Transforms return new values and never touch their input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from policy.models import FieldRule

Transform = Callable[[Any], Any]
TimeCoarsener = Callable[[datetime], datetime]
Pseudonymiser = Callable[[str], str]

#: What ``generalise`` with ``keep_values`` makes of any other value.
OTHER: Final = "other"
#: The output key that carries a pseudonymised customer id (contract §3).
PSEUDONYM_KEY: Final = "subject_pseudonym"
#: The output key that carries the recipient's subject id on a named route (contract §3): the
#: same keyed HMAC, named for what it is to a recipient that also gets the name.
SUBJECT_ID_KEY: Final = "subject_id"


def scalar_only(value: Any) -> Any:
    """A kept value as it is when it is a scalar; a list, map or record never goes as it came
    (``policy.compile`` builds those anew from the classified keys, ``policy.shapes``)."""
    return value if value is None or isinstance(value, str | int | float | bool) else None


class Keep:
    """The value as it is; a field holding records keeps their classified keys (``only``: just
    these of them; ``policy.compile``)."""

    name: Final = "keep"
    params: Final = frozenset({"only"})
    leaks: Final = True

    def output_key(self, field: str) -> str | None:
        return field

    def build(self, rule: FieldRule, pseudonymiser: Pseudonymiser | None) -> Transform:
        return scalar_only


class Drop:
    name: Final = "drop"
    params: Final = frozenset[str]()
    leaks: Final = False

    def output_key(self, field: str) -> str | None:
        return None

    def build(self, rule: FieldRule, pseudonymiser: Pseudonymiser | None) -> Transform:
        return _nothing


class Redact:
    """The field stays in the record's shape, its value is always null."""

    name: Final = "redact"
    params: Final = frozenset[str]()
    leaks: Final = False

    def output_key(self, field: str) -> str | None:
        return field

    def build(self, rule: FieldRule, pseudonymiser: Pseudonymiser | None) -> Transform:
        return _nothing


class Mask:
    """All but the last ``keep_last`` characters replaced by ``mask_char``."""

    name: Final = "mask"
    params: Final = frozenset({"keep_last", "mask_char"})
    leaks: Final = True

    def output_key(self, field: str) -> str | None:
        return field

    def build(self, rule: FieldRule, pseudonymiser: Pseudonymiser | None) -> Transform:
        keep = 4 if rule.keep_last is None else rule.keep_last
        char = rule.mask_char or "*"

        def mask(value: Any) -> Any:
            if not isinstance(value, str):
                return None
            shown = value[len(value) - keep :] if keep and len(value) > keep else ""
            return char * (len(value) - len(shown)) + shown

        return mask


class Pseudonymise:
    """The customer id becomes the recipient's keyed HMAC of it, its subject id: named
    ``subject_pseudonym`` on a pseudonymised route, ``subject_id`` on others
    (``field_output_key``)."""

    name: Final = "pseudonymise"
    params: Final = frozenset[str]()
    leaks: Final = True

    def output_key(self, field: str) -> str | None:
        return PSEUDONYM_KEY

    def build(self, rule: FieldRule, pseudonymiser: Pseudonymiser | None) -> Transform:
        if pseudonymiser is None:
            raise ValueError("pseudonymise needs the recipient's key")
        hmac_of = pseudonymiser

        def pseudonymise(value: Any) -> Any:
            return hmac_of(value) if isinstance(value, str) else None

        return pseudonymise


class Generalise:
    """An integer becomes its band: width 10 gives ``"1980s"``, else ``"1980-1984"`` (a year)
    or ``"5000-9999"`` (an amount, width 5000). A string goes as it is when it is one of
    ``keep_values``, else as ``"other"`` (``country``: ``JP`` or ``other``); with ``groups``,
    as the name of the group that lists it, else as ``"other"``. A field holding records,
    generalised ``by`` one of their keys, becomes the sorted, distinct groups of that key's
    values (``items`` by ``sku``: ``["cleansing", "skincare"]``): no line, count or order.

    >>> rule = FieldRule(op="generalise", by="sku", groups={"care": ("A", "B")})
    >>> Generalise().build(rule, None)([{"sku": "B"}, {"sku": "A"}, {"sku": "Z"}])
    ['care', 'other']
    """

    name: Final = "generalise"
    params: Final = frozenset({"width", "keep_values", "groups", "by"})
    leaks: Final = True

    def output_key(self, field: str) -> str | None:
        return f"{field}_band"

    def build(self, rule: FieldRule, pseudonymiser: Pseudonymiser | None) -> Transform:
        width = rule.width or 10
        if rule.groups is not None:
            group_of = {value: group for group, values in rule.groups.items() for value in values}
            if rule.by is not None:
                return _grouped_records(rule.by, group_of)
            return lambda value: None if value is None else group_of.get(value, OTHER)
        if rule.keep_values is not None:
            kept = frozenset(rule.keep_values)
            return lambda value: None if value is None else value if value in kept else OTHER

        def generalise(value: Any) -> Any:
            if not isinstance(value, int) or isinstance(value, bool):
                return None
            low = value - value % width
            return f"{low}s" if width == 10 else f"{low}-{low + width - 1}"

        return generalise


def _grouped_records(key: str, group_of: Mapping[Any, str]) -> Transform:
    """Records (order lines) -> the sorted, distinct groups of their ``key`` values; a record
    without the key, or with a value no group lists, counts as ``other``; not a list: null."""

    def grouped(value: Any) -> Any:
        if not isinstance(value, list):
            return None
        found = {
            group_of.get(line.get(key), OTHER)
            if line.__class__ is dict or isinstance(line, Mapping)  # the ABC check is slow
            else OTHER
            for line in value
        }
        return sorted(found)

    return grouped


def _nothing(value: Any) -> None:
    return None


def time_coarsener(grain: str) -> TimeCoarsener:
    """A pseudonymised route's event time: 00:00 UTC of its day, of the Monday of its ISO week,
    of the first of its month, of its quarter or of its year (``time_grain``).

    >>> t = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    >>> grains = ("day", "week", "month", "quarter", "year")
    >>> [time_coarsener(g)(t).date().isoformat() for g in grains]
    ['2026-11-26', '2026-11-23', '2026-11-01', '2026-10-01', '2026-01-01']
    """
    if grain == "year":
        return lambda t: datetime(t.year, 1, 1, tzinfo=UTC)
    if grain == "quarter":
        return lambda t: datetime(t.year, t.month - (t.month - 1) % 3, 1, tzinfo=UTC)
    if grain == "month":
        return lambda t: datetime(t.year, t.month, 1, tzinfo=UTC)
    if grain == "week":
        return lambda t: datetime(t.year, t.month, t.day, tzinfo=UTC) - timedelta(t.weekday())
    return lambda t: datetime(t.year, t.month, t.day, tzinfo=UTC)


Operator = Keep | Drop | Redact | Mask | Pseudonymise | Generalise

#: Every operator the policy may name.
REGISTRY: Final[Mapping[str, Operator]] = {
    op.name: op for op in (Keep(), Drop(), Redact(), Mask(), Pseudonymise(), Generalise())
}


def field_output_key(field: str, op: str, pseudonymised: bool) -> str | None:
    """The output key a field becomes on a route (``None``: it does not go out).

    >>> field_output_key("customer_id", "pseudonymise", False)
    'subject_id'
    >>> field_output_key("customer_id", "pseudonymise", True)
    'subject_pseudonym'
    >>> field_output_key("name", "drop", False) is None
    True
    """
    if op == Pseudonymise.name and not pseudonymised:
        return SUBJECT_ID_KEY
    return REGISTRY[op].output_key(field)
