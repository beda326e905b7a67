"""A quick type check (``policy.type_checks``) passes only values the full walk finds no fault
in, for every field type of the input schemas."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from policy.input_schemas import load_input_schemas, schema_fields
from policy.type_checks import quick_check
from policy.type_checks import type_fault as _type_fault

TYPES = [f["type"] for s in load_input_schemas().values() for f in schema_fields(s).values()]
KEYS = st.sampled_from(["sku", "product_name", "quantity", "unit_price_jpy", "other"])
LEAVES = (
    st.none() | st.integers(-(2**40), 2**40) | st.booleans() | st.floats()
    | st.text(max_size=3) | st.datetimes()
)  # fmt: skip
VALUES = st.recursive(
    LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=5)
)
#: order lines that fit, so that the check's yes is tried too
LINES = st.lists(
    st.fixed_dictionaries(
        {"sku": st.text(max_size=3), "product_name": st.text(max_size=3)},
        optional={"quantity": st.integers(-(2**32), 2**32), "unit_price_jpy": st.integers()},
    ),
    max_size=3,
)


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(TYPES), VALUES | LINES)
def test_when_the_quick_check_passes_then_the_walk_finds_no_fault(
    avro_type: Any, value: Any
) -> None:
    check = quick_check(avro_type)
    if check is not None and check(value):
        assert _type_fault(avro_type, value, "field") is None
