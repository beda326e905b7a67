"""Contract JSON ↔ Avro values: ISO-8601 UTC timestamps, base64 bytes, schema-guided."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from wire import SchemaStore
from wire.jsonvalues import format_timestamp, from_json, parse_timestamp, to_json

STORE = SchemaStore.load()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24T09:30:00Z", datetime(2026, 11, 24, 9, 30, tzinfo=UTC)),  # contract form
        ("2026-11-24T18:30:00+09:00", datetime(2026, 11, 24, 9, 30, tzinfo=UTC)),  # JST offset
        ("2026-11-24T09:30:00.250Z", datetime(2026, 11, 24, 9, 30, 0, 250000, tzinfo=UTC)),  # ms
        ("2026-11-24T09:30:00", datetime(2026, 11, 24, 9, 30, tzinfo=UTC)),  # naive means UTC
        ("yesterday", None),  # not a timestamp
    ],
)
def test_when_iso_text_parsed_then_aware_utc(text: str, expected: datetime | None) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 11, 24, 9, 30, tzinfo=UTC), "2026-11-24T09:30:00Z"),  # whole seconds
        (datetime(2026, 11, 24, 9, 30, 0, 5000, tzinfo=UTC), "2026-11-24T09:30:00.005Z"),  # ms
        (
            datetime(2026, 11, 24, 18, 30, tzinfo=timezone(timedelta(hours=9))),
            "2026-11-24T09:30:00Z",
        ),
    ],
)
def test_when_datetime_formatted_then_iso_z(value: datetime, expected: str) -> None:
    assert format_timestamp(value) == expected


@pytest.mark.parametrize(
    ("schema_name", "value", "expected"),
    [
        # event_time string -> datetime; other strings untouched
        (
            "ConsentChange",
            {"event_time": "2026-11-24T09:30:00Z", "scope": "2026-11-24T09:30:00Z"},
            {
                "event_time": datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
                "scope": "2026-11-24T09:30:00Z",
            },
        ),
        # bytes field: base64 decoded; nullable partition untouched
        (
            "DeadLetter",
            {"raw": "AAH/", "partition": None},
            {"raw": b"\x00\x01\xff", "partition": None},
        ),
        # a bad timestamp stays a string so that validation names the field
        ("OrderEvent", {"event_time": "soon"}, {"event_time": "soon"}),
        # unknown keys pass through (strict encoding rejects them later)
        ("OrderEvent", {"nickname": "x"}, {"nickname": "x"}),
    ],
)
def test_when_json_value_converted_then_schema_guides_it(
    schema_name: str, value: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert from_json(STORE.get(schema_name), value) == expected


def test_when_avro_value_to_json_then_datetimes_and_bytes_are_text() -> None:
    value = {"t": datetime(2026, 1, 2, tzinfo=UTC), "raw": b"\x00", "xs": [{"b": b"a"}], "n": None}
    assert to_json(value) == {
        "t": "2026-01-02T00:00:00Z",
        "raw": "AA==",
        "xs": [{"b": "YQ=="}],
        "n": None,
    }
