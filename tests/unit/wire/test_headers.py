"""The decision stamp headers of an output record."""

from __future__ import annotations

from typing import Any

import pytest

from wire import stamp_headers

OUTPUT = {
    "event_id": "ev-1",
    "event_time": 0,
    "source_topic": "orders",
    "purpose": "fulfilment",
    "recipient": "septem-cargo",
    "policy_version": "p-1",
    "name": "山田 花子",
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # a normal output: four headers, fixed order, UTF-8, nothing from the route's fields
        (
            OUTPUT,
            [
                ("purposegate-event-id", b"ev-1"),
                ("purposegate-purpose", b"fulfilment"),
                ("purposegate-policy-version", b"p-1"),
                ("purposegate-source-topic", b"orders"),
            ],
        ),
        # non-ASCII event ids are UTF-8 encoded
        ({**OUTPUT, "event_id": "ev-é"}, None),
    ],
)
def test_when_output_stamped_then_headers_carry_envelope_only(
    value: dict[str, Any], expected: list[tuple[str, bytes]] | None
) -> None:
    headers = stamp_headers(value)
    if expected is not None:
        assert headers == expected
    assert dict(headers)["purposegate-event-id"] == value["event_id"].encode()
    assert all("山田".encode() not in v for _, v in headers)


def test_when_envelope_field_missing_then_key_error() -> None:
    with pytest.raises(KeyError):
        stamp_headers({"event_id": "e"})
