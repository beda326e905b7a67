"""Conditions (``when``) and tagging rules compiled once into plain functions over a record.

A condition is a tuple of alternatives; one matching alternative is enough, and inside one
alternative every field test must hold. No condition always matches. The compiled forms are
loops over tuples (no generators): they run for every route of every event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from policy.models import Alternatives, FieldTest, Scalar, TaggingRule

Predicate = Callable[[Mapping[str, Any]], bool]
ValueTest = Callable[[Any], bool]
#: ``tagger(record, purpose_order) -> purposes`` in the policy's order.
Tagger = Callable[[Mapping[str, Any], Sequence[str]], tuple[str, ...]]


def compile_condition(when: Alternatives | None) -> Predicate:
    if not when:
        return _always
    alternatives = tuple(
        tuple((field, _compile_test(test)) for field, test in alternative.items())
        for alternative in when
    )

    def matches(record: Mapping[str, Any]) -> bool:
        get = record.get
        for tests in alternatives:
            for field, test in tests:
                if not test(get(field)):
                    break
            else:
                return True
        return False

    return matches


def compile_tagging(rules: Sequence[TaggingRule]) -> Tagger:
    """The purposes of a topic's events: unconditional ones, plus those whose rule matches."""
    always = frozenset(p for r in rules if not r.when for p in r.purposes)
    conditional = tuple((compile_condition(r.when), frozenset(r.purposes)) for r in rules if r.when)
    ordered: dict[frozenset[str], tuple[str, ...]] = {}

    def tagger(record: Mapping[str, Any], purpose_order: Sequence[str]) -> tuple[str, ...]:
        tagged = always
        for matches, purposes in conditional:
            if matches(record):
                tagged = tagged | purposes
        result = ordered.get(tagged)
        if result is None:  # one entry per distinct purpose set: a handful
            result = ordered[tagged] = tuple(p for p in purpose_order if p in tagged)
        return result

    return tagger


def _compile_test(test: FieldTest) -> ValueTest:
    if test.eq is not None:
        return _equals(test.eq)
    if test.ne is not None:
        equals = _equals(test.ne)
        return lambda v: not equals(v)
    if test.in_ is not None:
        return _member_of(test.in_)
    member = _member_of(test.not_in or ())
    return lambda v: not member(v)


def _equals(literal: Scalar) -> ValueTest:
    kind = type(literal)
    # `True == 1` in Python: a test on a boolean must not match an integer, nor vice versa.
    return lambda v: v == literal and type(v) is kind


def _member_of(literals: tuple[Scalar, ...]) -> ValueTest:
    if all(type(m) is str for m in literals):
        members = frozenset(literals)
        return lambda v: type(v) is str and v in members
    tests = tuple(_equals(m) for m in literals)
    return lambda v: any(test(v) for test in tests)


def _always(record: Mapping[str, Any]) -> bool:
    return True


def disjoint(first: Alternatives | None, second: Alternatives | None) -> bool:
    """Whether no record can meet both conditions: every pair of their alternatives tests some
    field for ``eq``/``in`` values that do not meet (``kind: monitor`` against ``kind: gift``).

    >>> monitor = ({"kind": FieldTest(eq="monitor")},)
    >>> gifts = ({"kind": FieldTest(**{"in": ("gift", "prize")})},)
    >>> disjoint(monitor, gifts), disjoint(monitor, None)
    (True, False)
    """
    if not first or not second:
        return False
    return all(_apart(a, b) for a in first for b in second)


def _apart(first: Mapping[str, FieldTest], second: Mapping[str, FieldTest]) -> bool:
    for field, test in first.items():
        other = second.get(field)
        if other is None or test.ne is not None or test.not_in is not None:
            continue
        if (
            other.ne is None
            and other.not_in is None
            and not set(test.values()) & set(other.values())
        ):
            return True
    return False
