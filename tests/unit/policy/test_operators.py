"""The field operators: output key, transform, and that transforms never alias their input."""

from __future__ import annotations

from typing import Any

import pytest

from policy.models import FieldRule
from policy.operators import PSEUDONYM_KEY, REGISTRY


def fake_pseudonymiser(customer_id: str) -> str:
    return f"p({customer_id})"


GROUPS = {"care": ("A", "B"), "sun": ("C",)}
BY_SKU = FieldRule(op="generalise", by="sku", groups=GROUPS)


def line(sku: str, quantity: int = 1) -> dict[str, Any]:
    return {"sku": sku, "product_name": sku, "quantity": quantity, "unit_price_jpy": 1000}


CASES = [
    # keep: same key, same value
    (FieldRule(op="keep"), "name", "Test Name", "name", "Test Name"),
    # drop: no output key
    (FieldRule(op="drop"), "email", "x@example.invalid", None, None),
    # redact: the key stays, the value is null
    (FieldRule(op="redact"), "phone", "000-0000-0001", "phone", None),
    # mask: all but the last four characters
    (FieldRule(op="mask"), "phone", "000-0000-0001", "phone", "*********0001"),
    # mask with parameters
    (FieldRule(op="mask", keep_last=2, mask_char="#"), "code", "12345", "code", "###45"),
    # mask of a value no longer than what it keeps shows nothing
    (FieldRule(op="mask"), "code", "123", "code", "***"),
    # mask of a non-string is null
    (FieldRule(op="mask"), "code", 12, "code", None),
    # pseudonymise: the customer id becomes subject_pseudonym
    (FieldRule(op="pseudonymise"), "customer_id", "cust-1", PSEUDONYM_KEY, "p(cust-1)"),
    # generalise: a decade
    (FieldRule(op="generalise"), "birth_year", 1987, "birth_year_band", "1980s"),
    # generalise: another width
    (FieldRule(op="generalise", width=5), "birth_year", 1987, "birth_year_band", "1985-1989"),
    # generalise of null stays null
    (FieldRule(op="generalise"), "birth_year", None, "birth_year_band", None),
    # generalise of a boolean is null, not a band
    (FieldRule(op="generalise"), "birth_year", True, "birth_year_band", None),
    # generalise by keep_values: a kept value as it is
    (FieldRule(op="generalise", keep_values=("JP",)), "country", "JP", "country_band", "JP"),
    # ... any other as other
    (FieldRule(op="generalise", keep_values=("JP",)), "country", "AU", "country_band", "other"),
    # generalise by groups: a listed value as its group's name
    (FieldRule(op="generalise", groups=GROUPS), "sku", "B", "sku_band", "care"),
    # ... a value no group lists as other, null as null
    (FieldRule(op="generalise", groups=GROUPS), "sku", "Z", "sku_band", "other"),
    (FieldRule(op="generalise", groups=GROUPS), "sku", None, "sku_band", None),
    # generalise records by a key: their groups, each once, sorted; no line, quantity or price
    (BY_SKU, "items", [line("B", 2), line("A"), line("C")], "items_band", ["care", "sun"]),
    # ... a line whose SKU no group lists (a new product) as other
    (BY_SKU, "items", [line("A"), line("NEW")], "items_band", ["care", "other"]),
    # ... a line without the key as other, no lines as no groups
    (BY_SKU, "items", [{"quantity": 1}], "items_band", ["other"]),
    (BY_SKU, "items", [], "items_band", []),
    # ... anything but a list of records as null
    (BY_SKU, "items", None, "items_band", None),
    (BY_SKU, "items", "A", "items_band", None),
]


@pytest.mark.parametrize(("rule", "field", "value", "key", "expected"), CASES)
def test_when_operator_applies_then_key_and_value_are_as_specified(
    rule: FieldRule, field: str, value: Any, key: str | None, expected: Any
) -> None:
    operator = REGISTRY[rule.op]
    assert operator.output_key(field) == key
    assert operator.build(rule, fake_pseudonymiser)(value) == expected


def test_when_keep_meets_a_container_without_a_schema_then_nothing_of_it_goes() -> None:
    # the engine builds kept lists, maps and records anew from the classified keys
    # (policy.shapes, tests/unit/policy/test_engine_depth.py); the bare operator never copies
    keep = REGISTRY["keep"].build(FieldRule(op="keep"), None)
    assert keep([{"sku": "S", "card_number": "4111"}]) is None
    assert keep({"a": 1}) is None
    assert keep("text") == "text"


def test_when_pseudonymise_has_no_key_then_building_fails() -> None:
    with pytest.raises(ValueError, match="key"):
        REGISTRY["pseudonymise"].build(FieldRule(op="pseudonymise"), None)


LEAKS = [
    # operators that let some of the value out
    ("keep", True),
    ("mask", True),
    ("pseudonymise", True),
    ("generalise", True),
    # operators that let nothing out
    ("drop", False),
    ("redact", False),
]


@pytest.mark.parametrize(("name", "leaks"), LEAKS)
def test_when_operator_is_registered_then_it_declares_whether_it_leaks(
    name: str, leaks: bool
) -> None:
    assert REGISTRY[name].leaks is leaks
