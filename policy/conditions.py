"""Conditions (``when``) compiled once into plain predicates over a record.

A condition is a tuple of alternatives; one matching alternative is enough, and inside one
alternative every field test must hold. No condition always matches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from policy.models import Alternatives, FieldTest

Predicate = Callable[[Mapping[str, Any]], bool]
ValueTest = Callable[[Any], bool]


def compile_condition(when: Alternatives | None) -> Predicate:
    if not when:
        return _always
    alternatives = tuple(
        tuple((field, _compile_test(test)) for field, test in alternative.items())
        for alternative in when
    )

    def matches(record: Mapping[str, Any]) -> bool:
        return any(all(test(record.get(f)) for f, test in tests) for tests in alternatives)

    return matches


def _compile_test(test: FieldTest) -> ValueTest:
    if test.eq is not None:
        wanted = test.eq
        return lambda v: _same(v, wanted)
    if test.ne is not None:
        unwanted = test.ne
        return lambda v: not _same(v, unwanted)
    if test.in_ is not None:
        members = test.in_
        return lambda v: any(_same(v, m) for m in members)
    excluded = test.not_in or ()
    return lambda v: not any(_same(v, m) for m in excluded)


def _same(value: Any, literal: Any) -> bool:
    # `True == 1` in Python; a condition on a boolean must not match an integer, nor vice versa.
    return type(value) is type(literal) and value == literal


def _always(record: Mapping[str, Any]) -> bool:
    return True
