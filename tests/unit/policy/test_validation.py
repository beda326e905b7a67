"""Input validation: bad records become ``Invalid`` with a readable error that names the field
and never quotes a value; good ones become events with UTC datetimes; nothing raises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from policy.validation import InputEvent, Invalid, validate
from tests.unit.policy.samples import NOW, compiled, consent, entry, inquiry, order, request


def without(value: dict[str, Any], field: str) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k != field}


INVALID = [
    # an input topic the contract does not have
    ("payments", order(), "unknown_topic", "payments"),
    # the value is not a record
    ("orders", ["not", "a", "record"], "not_a_record", "not a record"),
    # a required field is missing
    ("orders", without(order(), "status"), "missing_field", "'status'"),
    ("consents", without(consent("marketing", True), "granted"), "missing_field", "'granted'"),
    # an empty customer id cannot key anything
    ("orders", order(customer_id=""), "missing_field", "'customer_id'"),
    # a string where an int belongs
    ("orders", order(total_jpy="3000"), "wrong_type", "'total_jpy'"),
    # a boolean is not an int
    ("orders", order(total_jpy=True), "wrong_type", "'total_jpy'"),
    # an int beyond Avro int
    ("orders", order(total_jpy=2**40), "wrong_type", "'total_jpy'"),
    # null where the schema has no null
    ("orders", order(name=None), "wrong_type", "'name'"),
    # a nested order line of the wrong type
    (
        "orders",
        order(items=[{"sku": "S", "product_name": "P", "quantity": "two", "unit_price_jpy": 1}]),
        "wrong_type",
        "'items[0].quantity'",
    ),
    # a nested order line missing a field
    (
        "orders",
        order(items=[{"sku": "S", "product_name": "P", "quantity": 1}]),
        "missing_field",
        "unit_price_jpy",
    ),
    # answers must map strings to strings (the map's keys are data: the error names the map)
    ("campaign-entries", entry(answers={"q1": 3}), "wrong_type", "'answers{}'"),
    # a timestamp without a zone is not UTC
    ("orders", order(event_time="2026-11-24T09:30:00"), "wrong_type", "'event_time'"),
    # not a timestamp at all
    ("orders", order(event_time="yesterday"), "wrong_type", "'event_time'"),
    # values outside the contract's enums
    ("orders", order(status="lost"), "unknown_enum", "'status'"),
    ("orders", order(payment_method="barter"), "unknown_enum", "'payment_method'"),
    ("inquiries", inquiry(kind="praise"), "unknown_enum", "'kind'"),
    ("campaign-entries", entry(kind="lottery"), "unknown_enum", "'kind'"),
    ("subject-requests", request("erase", True), "unknown_enum", "'kind'"),
    # a consent scope that is neither a purpose nor cross_border
    ("consents", consent("profiling", True), "unknown_enum", "'scope'"),
    # a rating outside 1-5
    ("campaign-entries", entry(rating=9), "out_of_range", "'rating'"),
]


@pytest.mark.parametrize(("topic", "value", "kind", "names"), INVALID)
def test_when_record_is_bad_then_it_is_invalid_with_a_kind_and_named_field(
    topic: str, value: Any, kind: str, names: str
) -> None:
    result = validate(topic, value, compiled(), NOW)
    assert isinstance(result, Invalid)
    assert result.error_kind == kind
    assert names in result.error


SECRET_VALUES = [
    # a personal value in a mistyped field
    ("orders", order(total_jpy="secret-value-1"), "secret-value-1"),
    # a personal value in an enum field
    ("orders", order(status="secret-value-2"), "secret-value-2"),
    # a personal value in a bad timestamp
    ("orders", order(event_time="secret-value-3"), "secret-value-3"),
]


@pytest.mark.parametrize(("topic", "value", "secret"), SECRET_VALUES)
def test_when_record_is_bad_then_the_error_never_quotes_its_value(
    topic: str, value: dict[str, Any], secret: str
) -> None:
    result = validate(topic, value, compiled(), NOW)
    assert isinstance(result, Invalid)
    assert secret not in result.error


TIMES = [
    # the contract's JSON form
    ("2026-11-24T09:30:00Z", datetime(2026, 11, 24, 9, 30, tzinfo=UTC)),
    # with milliseconds
    ("2026-11-24T09:30:00.250Z", datetime(2026, 11, 24, 9, 30, 0, 250000, tzinfo=UTC)),
    # another zone, converted to UTC
    ("2026-11-24T18:30:00+09:00", datetime(2026, 11, 24, 9, 30, tzinfo=UTC)),
    # an aware datetime passes through (as UTC)
    (
        datetime(2026, 11, 24, 18, 30, tzinfo=timezone(timedelta(hours=9))),
        datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
    ),
]


@pytest.mark.parametrize(("given", "expected"), TIMES)
def test_when_event_time_is_iso_or_datetime_then_it_becomes_utc_datetime(
    given: Any, expected: datetime
) -> None:
    result = validate("orders", order(event_time=given), compiled(), NOW)
    assert isinstance(result, InputEvent)
    assert result.event_time == expected
    assert result.event_time.utcoffset() == timedelta(0)


def test_when_record_is_valid_then_the_callers_value_is_not_mutated() -> None:
    value = without(order(event_time="2026-11-24T09:30:00Z"), "card_last4")
    before = dict(value)
    result = validate("orders", value, compiled(), NOW)
    assert isinstance(result, InputEvent)
    assert value == before
    assert result.value["card_last4"] is None  # the schema default is filled in the copy


def test_when_record_has_a_field_the_policy_does_not_know_then_it_stays_valid() -> None:
    result = validate("orders", order(loyalty_tier="gold"), compiled(), NOW)
    assert isinstance(result, InputEvent)
    assert result.value["loyalty_tier"] == "gold"
