"""The contract's input rules (docs/contract.md §1) before any decision: country codes, future
event times, valid Unicode, size limits and ranges at every depth. A record that breaks one is
``Invalid`` with a readable error that names the field and never quotes the value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pycountry
import pytest

from config.settings import Settings
from policy.compile import CompiledPolicy, compile_policy
from policy.input_rules import ISO_3166_ALPHA_2, InputLimits
from policy.loader import load_policy
from policy.validation import InputEvent, Invalid, validate
from tests.unit.policy.samples import NOW, T0, TEST_KEYS, compiled, consent, entry, order, request

LINE = {"sku": "S", "product_name": "P", "quantity": 1, "unit_price_jpy": 100}
BIG = "x" * (64 * 1024 + 1)

BROKEN = [
    # a country in lower case is not the code: it would pass the cross-border gate as non-JP
    ("orders", order(country="jp"), "unknown_enum", "'country'"),
    # a country name is not a code
    ("orders", order(country="Japan"), "unknown_enum", "'country'"),
    # two letters that no country has
    ("campaign-entries", entry(country="ZZ"), "unknown_enum", "'country'"),
    # an event more than five minutes ahead of the processing clock
    (
        "orders",
        order(event_time=NOW + timedelta(minutes=5, seconds=1)),
        "event_time_in_future",
        "'event_time'",
    ),
    # a consent dated far ahead (it would freeze the state against later withdrawals)
    (
        "consents",
        consent("marketing", True, datetime(2099, 1, 1, tzinfo=UTC)),
        "event_time_in_future",
        "'event_time'",
    ),  # fmt: skip
    # a resumption dated far ahead
    (
        "subject-requests",
        request("resume_use", True, datetime(2099, 1, 1, tzinfo=UTC)),
        "event_time_in_future",
        "'event_time'",
    ),  # fmt: skip
    # a lone surrogate in a top-level string
    ("orders", order(name="\ud800"), "invalid_unicode", "'name'"),
    # a lone surrogate in an order line
    ("orders", order(items=[{**LINE, "sku": "\udfff"}]), "invalid_unicode", "'items[0].sku'"),
    # a lone surrogate in a key nobody classifies
    ("orders", order(**{"\ud800": "x"}), "invalid_unicode", "a key of the record"),
    # a lone surrogate deep inside an unknown field: unclassified keys are not quoted
    ("orders", order(extra={"a": ["\ud800"]}), "invalid_unicode", "'<key>.<key>[0]'"),
    # a name longer than 64 KiB
    ("orders", order(name=BIG), "too_large", "'name'"),
    # a long string in a field the policy does not know
    ("orders", order(notes=BIG), "too_large", "'<key>'"),
    # bug (adversarial suite): an unclassified key was quoted in the DLQ error if it looked
    # like a field name; a producer's key may be personal data (an e-mail, a customer id)
    ("orders", order(**{"taro-yamada-0001": BIG}), "too_large", "field '<key>' is"),
    # the same under an order line, and a classified key beside it still named
    (
        "orders",
        order(items=[{**LINE, "cust-0001": ["\ud800"]}]),
        "invalid_unicode",
        "'items[0].<key>[0]'",
    ),  # fmt: skip
    # a record over 1 MiB made of strings each under the limit
    (
        "orders",
        order(items=[{**LINE, "product_name": "y" * 60_000}] * 18),
        "too_large",
        "the record",
    ),  # fmt: skip
    # a birth year in the future
    ("campaign-entries", entry(birth_year=3000), "out_of_range", "'birth_year'"),
    # a birth year before 1900
    ("campaign-entries", entry(birth_year=1899), "out_of_range", "'birth_year'"),
    # a negative total
    ("orders", order(total_jpy=-1), "out_of_range", "'total_jpy'"),
    # a negative unit price in an order line
    (
        "orders",
        order(items=[{**LINE, "unit_price_jpy": -5}]),
        "out_of_range",
        "'items[].unit_price_jpy'",
    ),  # fmt: skip
    # zero units ordered
    (
        "orders",
        order(items=[LINE, {**LINE, "quantity": 0}]),
        "out_of_range",
        "'items[].quantity'",
    ),  # fmt: skip
    # a rating of 0 and of 6
    ("campaign-entries", entry(rating=0), "out_of_range", "'rating'"),
    ("campaign-entries", entry(rating=6), "out_of_range", "'rating'"),
]


@pytest.mark.parametrize(("topic", "value", "kind", "named"), BROKEN)
def test_when_record_breaks_an_input_rule_then_it_is_invalid_naming_the_field(
    topic: str, value: dict[str, Any], kind: str, named: str
) -> None:
    result = validate(topic, value, compiled(), NOW)
    assert isinstance(result, Invalid), result
    assert (result.error_kind, named in result.error) == (kind, True), result.error
    result.error.encode("utf-8")  # never a lone surrogate: the DLQ writer must not crash
    assert len(result.error) < 200


KEPT = [
    # an event exactly at the allowed skew
    ("orders", order(event_time=NOW + timedelta(minutes=5))),
    # an event in the past
    ("orders", order(event_time=datetime(2001, 1, 1, tzinfo=UTC))),
    # the bounds of every range
    ("campaign-entries", entry(birth_year=1900, rating=1)),
    ("campaign-entries", entry(birth_year=NOW.year, rating=5)),
    ("orders", order(total_jpy=0, items=[{**LINE, "quantity": 1, "unit_price_jpy": 0}])),
    # null where the schema allows it is not out of range
    ("campaign-entries", entry(birth_year=None, rating=None)),
    # a country outside Japan, in upper case
    ("orders", order(country="AU")),
    # a string of exactly 64 KiB of UTF-8 (3 bytes per character)
    ("orders", order(address="あ" * (64 * 1024 // 3))),
    # non-ASCII text in every string
    ("orders", order(name="山田 花子", address="東京都")),
]


@pytest.mark.parametrize(("topic", "value"), KEPT)
def test_when_record_keeps_every_rule_then_it_is_valid(topic: str, value: dict[str, Any]) -> None:
    assert isinstance(validate(topic, value, compiled(), NOW), InputEvent)


SECRETS = [
    # a future time is not quoted
    (order(event_time=datetime(2099, 5, 6, tzinfo=UTC)), "2099"),
    # a bad country is not quoted
    (order(country="Secretland"), "Secretland"),
    # an oversized string is not quoted
    (order(name="SECRET" * 20_000), "SECRET"),
    # a negative amount is not quoted
    (order(total_jpy=-424242), "424242"),
    # an unknown key with a lone surrogate is not quoted
    (order(**{"SECRET\ud800": 1}), "SECRET"),
]


@pytest.mark.parametrize(("value", "secret"), SECRETS)
def test_when_record_breaks_a_rule_then_the_error_never_quotes_its_value(
    value: dict[str, Any], secret: str
) -> None:
    result = validate("orders", value, compiled(), NOW)
    assert isinstance(result, Invalid)
    assert secret not in result.error


@cache
def tight() -> CompiledPolicy:
    limits = InputLimits(timedelta(seconds=0), max_string_bytes=30, max_record_bytes=2000)
    return compile_policy(load_policy(), TEST_KEYS, limits=limits)


LIMITS = [
    # a zero skew refuses a second ahead
    (order(event_time=NOW + timedelta(seconds=1)), "event_time_in_future"),
    # a 31-byte string over a 30-byte limit
    (order(name="x" * 31), "too_large"),
    # a record over a 2,000-byte limit
    (order(items=[{**LINE, "sku": "s" * 10}] * 100), "too_large"),
]


@pytest.mark.parametrize(("value", "kind"), LIMITS)
def test_when_limits_are_configured_then_validation_uses_them(
    value: dict[str, Any], kind: str
) -> None:
    result = validate("orders", value, tight(), NOW)
    assert isinstance(result, Invalid) and result.error_kind == kind


ENV = [
    # the defaults: 5 minutes, 64 KiB, 1 MiB
    ({}, InputLimits()),
    # each from its PURPOSEGATE_* variable
    (
        {
            "PURPOSEGATE_MAX_FUTURE_SKEW_S": "30",
            "PURPOSEGATE_MAX_STRING_BYTES": "100",
            "PURPOSEGATE_MAX_RECORD_BYTES": "5000",
        },
        InputLimits(timedelta(seconds=30), 100, 5000),
    ),
]


@pytest.mark.parametrize(("env", "limits"), ENV)
def test_when_settings_are_read_then_the_input_limits_follow_the_env(
    env: dict[str, str], limits: InputLimits
) -> None:
    assert Settings.model_validate(env).input_limits() == limits


def test_when_the_country_table_is_compared_then_it_is_iso_3166_alpha_2() -> None:
    assert {c.alpha_2 for c in pycountry.countries} == ISO_3166_ALPHA_2
    assert {"JP", "AU", "SG", "US", "GB"} <= ISO_3166_ALPHA_2
    assert all(code.isupper() and len(code) == 2 for code in ISO_3166_ALPHA_2)


def test_when_the_clock_moves_on_then_the_birth_year_bound_moves_with_it() -> None:
    born = entry(birth_year=T0.year + 1)
    assert isinstance(validate("campaign-entries", born, compiled(), NOW), Invalid)
    next_year = NOW.replace(year=NOW.year + 1)
    later = {**born, "event_time": next_year}
    assert isinstance(validate("campaign-entries", later, compiled(), next_year), InputEvent)
