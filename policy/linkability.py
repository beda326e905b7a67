"""How many of a pseudonymised route's records an attacker links to the one named record of
another recipient they belong to, by the values both carry (docs/contract.md §3, ``purposegate
linkability``).

A pure measure over output records grouped by route (``recipient/purpose/source``). For every
pseudonymised route P and every named route N of another recipient with the same source
topic, the values both carry are put side by side in P's form: a value P keeps as it is
against N's; P's band (``generalise``) against N's value banded alike (the product groups of
P's order lines against the groups of N's lines); P's event time (its grain) against N's time
truncated alike; P's order lines (the keys P keeps) against N's lines cut to those keys; and
the total that P's kept lines add up to (their unit prices, or prices an attacker learns from
any named record that carries lines with prices) against N's ``total_jpy``. A P record *joins*
one named record when, for some such N and SOME non-empty combination of those values, exactly
one N record has the same ones. If the P records with those same values belong to ``m``
subjects (distinct pseudonyms: records of one pseudonym are one candidate, linking any names
all), the attacker holding both sets pairs the named record with one of ``m`` subjects: that P
record is linked with probability ``1/m`` (1 for a one-to-one join, as the issue's (total, day,
status) join was; one named record of a quarter shared by 700 subjects names none of them).
``linked`` is the sum of those probabilities, each record counted at its worst join: the number
of records an attacker links, on average.
``joined`` counts every P record that joins one named record at all, whatever ``m``.

>>> from policy.loader import load_policy
>>> found = measure(load_policy(), {})
>>> sorted(r.route for r in found)[:1]
['enfinity/product_development/orders']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from operator import itemgetter
from typing import Any, Final

from policy.models import FieldRule, Policy, Route
from policy.operators import PSEUDONYM_KEY, REGISTRY, time_coarsener

#: The goal: at most this share of a pseudonymised route's records join to one named record.
GOAL: Final = 0.01
Record = Mapping[str, Any]
Side = Callable[[Record], Any]
#: A value both routes carry: its name, how to read it from P's record and from N's.
Attribute = tuple[str, Side, Side]


@dataclass(frozen=True, slots=True)
class RouteLinkage:
    """One pseudonymised route: its records, how many are linked (expected), how many join
    one named record at all, and the named route and values that link the most (None: none)."""

    route: str
    records: int
    linked: float
    joined: int = 0
    worst: tuple[str, tuple[str, ...]] | None = None

    @property
    def share(self) -> float:
        return self.linked / self.records if self.records else 0.0

    @property
    def joined_share(self) -> float:
        return self.joined / self.records if self.records else 0.0

    @property
    def over_goal(self) -> bool:
        """Over the goal by either reading: the records linked (expected), or the records that
        join one named record at all (the issue's literal "join to exactly one named record")."""
        return self.share > GOAL or self.joined_share > GOAL


def measure(policy: Policy, records: Mapping[str, Sequence[Record]]) -> list[RouteLinkage]:
    """Every pseudonymised route's linkage, in route order (``records``: route id -> its
    output values)."""
    prices = learned_prices(r for route in policy.routes if not route.pseudonymised
                            for r in records.get(route.id, ()))  # fmt: skip
    found = []
    for route in policy.routes:
        if route.pseudonymised:
            named = [n for n in policy.routes if _joinable(route, n)]
            found.append(_route_linkage(route, named, records, prices))
    return found


def _joinable(pseudonymised: Route, named: Route) -> bool:
    return (
        not named.pseudonymised
        and named.recipient != pseudonymised.recipient
        and named.source == pseudonymised.source
    )


def _route_linkage(
    route: Route,
    named: list[Route],
    records: Mapping[str, Sequence[Record]],
    prices: Mapping[str, int],
) -> RouteLinkage:
    mine = records.get(route.id, ())
    risk: dict[int, float] = {}
    best: tuple[float, str, tuple[str, ...]] | None = None
    for other in named:
        attributes = shared_attributes(route, other, prices)
        for names, hits in unique_joins(mine, records.get(other.id, ()), attributes):
            for index, chance in hits.items():
                risk[index] = max(risk.get(index, 0.0), chance)
            total = sum(hits.values())
            if total and (best is None or total > best[0]):
                best = (total, other.id, names)
    worst = None if best is None else (best[1], best[2])
    return RouteLinkage(route.id, len(mine), sum(risk.values()), len(risk), worst)


def unique_joins(
    mine: Sequence[Record], theirs: Sequence[Record], attributes: Sequence[Attribute]
) -> Iterable[tuple[tuple[str, ...], dict[int, float]]]:
    """Per non-empty combination of the attributes, the indexes of ``mine`` that exactly one
    record of ``theirs`` matches on it, each with 1 / the number of *subjects* (distinct
    pseudonyms) among the ``mine`` that match it: records of one pseudonym that look alike
    are one candidate, since linking any of them names the pseudonym, and with it all of them.

    >>> same = ("x", itemgetter("x"), itemgetter("x"))
    >>> list(unique_joins([{"x": 1}, {"x": 1}, {"x": 2}], [{"x": 1}, {"x": 2}, {"x": 2}], [same]))
    [(('x',), {0: 0.5, 1: 0.5})]
    >>> one = [{"x": 1, PSEUDONYM_KEY: "p"}, {"x": 1, PSEUDONYM_KEY: "p"}]
    >>> list(unique_joins(one, [{"x": 1}], [same]))
    [(('x',), {0: 1.0, 1: 1.0})]
    """
    if not mine or not theirs:
        return
    left = [tuple(read(r) for _, read, _ in attributes) for r in mine]
    right = [tuple(read(r) for _, _, read in attributes) for r in theirs]
    # a record without a pseudonym is a subject of its own
    subjects = [r.get(PSEUDONYM_KEY, ("record", i)) for i, r in enumerate(mine)]
    for size in range(1, len(attributes) + 1):
        for chosen in combinations(range(len(attributes)), size):
            key = itemgetter(*chosen)
            counts = Counter(key(row) for row in right)
            keys = [key(row) for row in left]
            owners: dict[Any, set[Any]] = {}
            for k, subject in zip(keys, subjects, strict=True):
                owners.setdefault(k, set()).add(subject)
            hits = {i: 1 / len(owners[k]) for i, k in enumerate(keys) if counts.get(k) == 1}
            yield tuple(attributes[i][0] for i in chosen), hits


def shared_attributes(route: Route, named: Route, prices: Mapping[str, int]) -> list[Attribute]:
    """The values the pseudonymised ``route`` and the ``named`` route both carry, each read
    in the pseudonymised route's form."""
    coarsen = time_coarsener(route.time_grain)
    attributes: list[Attribute] = [
        ("time", itemgetter("event_time"), lambda r: coarsen(r["event_time"]))
    ]
    theirs = {field for field, rule in named.fields.items() if rule.op == "keep"}
    for field, rule in route.fields.items():
        if field not in theirs:
            continue
        if rule.op == "keep":
            attributes.append((field, _read(field, rule.only), _read(field, rule.only)))
        elif rule.op == "generalise" and _carries(named.fields[field], rule.by):
            band = REGISTRY["generalise"].build(rule, None)
            attributes.append((field, _read_band(f"{field}_band"), _banded(field, band)))
    items = route.fields.get("items")
    if items is not None and items.op == "keep" and "total_jpy" in theirs:
        attributes.append(("total_from_items", _items_total(prices), _read("total_jpy")))
    return attributes


def _carries(named: FieldRule, by: str | None) -> bool:
    """Whether the named route's records carry what a band is made of: the value, or (``by``)
    the key inside the records the band groups."""
    return by is None or named.only is None or by in named.only


def _read(field: str, only: tuple[str, ...] | None = None) -> Side:
    def read(record: Record) -> Any:
        value = record.get(field)
        if isinstance(value, list):  # order lines: the same lines in any order, in P's keys
            return tuple(
                sorted(
                    tuple(sorted((k, v) for k, v in line.items() if only is None or k in only))
                    for line in value
                )
            )
        return value

    return read


def _read_band(key: str) -> Side:
    return lambda record: _comparable(record.get(key))


def _banded(field: str, band: Callable[[Any], Any]) -> Side:
    return lambda record: _comparable(band(record.get(field)))


def _comparable(value: Any) -> Any:
    """A band as a value to count: the groups of a record field's lines as a tuple."""
    return tuple(value) if isinstance(value, list) else value


def _items_total(prices: Mapping[str, int]) -> Side:
    """The total P's lines add up to: their own unit prices, else the learned ones; None
    (never equal to a total) when a line says nothing of its price."""

    def total(record: Record) -> Any:
        lines = record.get("items") or ()
        amount = 0
        for line in lines:
            price = line.get("unit_price_jpy", prices.get(line.get("sku", "")))
            if price is None or "quantity" not in line:
                return None
            amount += price * line["quantity"]
        return amount

    return total


def learned_prices(named_records: Iterable[Record]) -> dict[str, int]:
    """SKU -> unit price, from every named record that carries order lines with prices.

    >>> learned_prices([{"items": [{"sku": "A", "unit_price_jpy": 3300}]}])
    {'A': 3300}
    """
    prices: dict[str, int] = {}
    for record in named_records:
        for line in record.get("items") or ():
            if "sku" in line and "unit_price_jpy" in line:
                prices[line["sku"]] = line["unit_price_jpy"]
    return prices
