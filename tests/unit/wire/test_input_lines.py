"""Contract lines through the one door (``read_line``, then ``prepare``'s strict encoding):
every bad line is a ``BadLine`` with its number and a reason that names no value; nothing
raises for the whole file; no value is converted to fit its type."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from policy.loader import load_policy
from tests.unit.wire.codecs import CODEC
from wire.codec import Decoded
from wire.input_lines import BadLine, Prepared, prepare

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


CONSENT: dict[str, Any] = {
    "event_id": "con-1",
    "event_time": "2026-11-24T09:30:00Z",
    "customer_id": "C1",
    "scope": "marketing",
    "granted": False,
    "source": "web_form",
}


def consent_line(**changes: Any) -> bytes:
    value = {**CONSENT, **changes}
    return json.dumps({"topic": "consents", "value": value}).encode()


BAD = [
    # bytes that are not UTF-8, as produce reads them (errors="surrogateescape")
    (b'{"topic": "orders", "value": {"name": "\xff\xfe"}}', "not valid UTF-8"),
    # not JSON
    (b"not json", "not a JSON object"),
    # a line of one of purposegate's own outputs
    (b'{"topic": "purposegate.audit", "value": {}}', "unknown input topic"),
    # a string is no boolean: "false" would be written as true by fastavro
    (consent_line(granted="false"), "field 'granted' must be a boolean"),
    # a number is no boolean either
    (consent_line(granted=0), "field 'granted' must be a boolean"),
    # NaN is no JSON number (Python's reader takes it unless told)
    (b'{"topic": "consents", "value": {"granted": NaN}}', "NaN or Infinity"),
    # a key twice: one reader takes the first, another the last
    (
        b'{"topic": "consents", "value": {"granted": true, "granted": false}}',
        "a key twice",
    ),
    # a line with more than topic and value
    (b'{"topic": "consents", "value": {}, "key": "C1"}', "besides"),
    # a timestamp finer than timestamp-millis holds would not decode to what was checked
    (consent_line(event_time="2026-11-24T09:30:00.0001Z"), "field 'event_time'"),
    # a field Kafka's record cannot carry is refused, not dropped
    (consent_line(note="x"), "'note' is not in the schema"),
]


@pytest.mark.parametrize(("raw", "reason"), BAD)
def test_when_a_line_is_bad_then_it_is_a_bad_line_with_its_reason(raw: bytes, reason: str) -> None:
    text = raw.decode("utf-8", errors="surrogateescape")
    (result,) = prepare([text], CODEC, load_policy(), clock=lambda: NOW)
    assert isinstance(result, BadLine)
    assert result.line == 1 and reason in result.error, result.error
    assert "\udcff" not in result.error


def test_when_a_line_is_good_then_it_decodes_to_the_validated_value() -> None:
    (result,) = prepare([consent_line()], CODEC, load_policy(), clock=lambda: NOW)
    assert isinstance(result, Prepared) and result.key == b"C1"
    decoded = CODEC.decode(result.value)
    assert isinstance(decoded, Decoded)
    assert decoded.value["granted"] is False
    assert decoded.value["event_time"] == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lines", "good"),
    [
        # a UTF-8 byte order mark before the first line is no part of it (as dry-run reads it)
        ([b"\xef\xbb\xbf" + consent_line()], [1]),
        # one before a later line is: that line is no JSON, as dry-run dead-letters it
        ([consent_line(), b"\xef\xbb\xbf" + consent_line()], [1]),
    ],
)
def test_when_a_file_starts_with_a_byte_order_mark_then_produce_reads_it_as_dry_run_does(
    lines: list[bytes], good: list[int]
) -> None:
    results = list(prepare(lines, CODEC, load_policy(), clock=lambda: NOW))
    assert [r.line for r in results if isinstance(r, Prepared)] == good
