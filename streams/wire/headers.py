"""The decision stamp: Kafka headers on every output record, so a recipient (or an auditor with
kcat) sees which event, purpose and policy a record comes from without decoding it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

EVENT_ID: Final = "purposegate-event-id"
PURPOSE: Final = "purposegate-purpose"
POLICY_VERSION: Final = "purposegate-policy-version"
SOURCE_TOPIC: Final = "purposegate-source-topic"

#: Header name -> the envelope field of an output value it carries.
STAMP_FIELDS: Final[Mapping[str, str]] = {
    EVENT_ID: "event_id",
    PURPOSE: "purpose",
    POLICY_VERSION: "policy_version",
    SOURCE_TOPIC: "source_topic",
}


def stamp_headers(output_value: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """The stamp of one output value (its envelope fields), UTF-8, in a fixed order.

    >>> stamp_headers({"event_id": "e1", "purpose": "fulfilment", "policy_version": "p9",
    ...                "source_topic": "orders", "name": "ignored"})[0]
    ('purposegate-event-id', b'e1')
    """
    return [(header, str(output_value[field]).encode()) for header, field in STAMP_FIELDS.items()]
