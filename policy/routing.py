"""Per-topic routing: an event's purposes and the routes it meets, memoised by the values of
the few fields that conditions look at.

Tagging rules and route conditions only test a handful of scalar fields (``status``,
``country``, ``kind``, ``won_prize``); events with the same values there get the same purposes
and routes, so the answer is computed once per distinct combination and then looked up. The
events are validated, so a field's values all have its schema type and can key a dict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Generic, TypeVar

from policy.conditions import Predicate, Tagger

#: Distinct combinations remembered per topic; beyond this, answers are computed each time.
MAX_REMEMBERED: Final = 4096

Plan = TypeVar("Plan")


class Router(Generic[Plan]):
    """``router(record) -> (purposes, plans whose purpose is tagged and condition holds)``."""

    __slots__ = ("_fields", "_memo", "_order", "_plans", "_tagger")

    def __init__(
        self,
        tagger: Tagger | None,
        plans: Sequence[tuple[Plan, str, Predicate]],  # plan, its purpose, its condition
        fields: Sequence[str],
        purpose_order: Sequence[str],
    ) -> None:
        self._tagger = tagger
        self._plans = tuple(plans)
        self._fields = tuple(fields)
        self._order = tuple(purpose_order)
        self._memo: dict[tuple[Any, ...], tuple[tuple[str, ...], tuple[Plan, ...]]] = {}

    def __call__(self, record: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[Plan, ...]]:
        get = record.get
        try:
            key = tuple([get(f) for f in self._fields])
            found = self._memo.get(key)
        except TypeError:  # an unhashable value: answer without remembering
            return self._compute(record)
        if found is None:
            found = self._compute(record)
            if len(self._memo) < MAX_REMEMBERED:
                self._memo[key] = found
        return found

    def _compute(self, record: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[Plan, ...]]:
        purposes = self._tagger(record, self._order) if self._tagger else ()
        plans = tuple(
            plan
            for plan, purpose, matches in self._plans
            if purpose in purposes and matches(record)
        )
        return purposes, plans
