"""Every Kafka header purposegate writes, named once.

Output records carry the decision stamp, so a recipient (or an auditor with kcat) sees which
event, purpose and policy a record comes from without decoding it; tombstones say why the key
must be forgotten; audit records carry their event id (``explain`` finds them by it); dead
letters their error kind. Header values are text here; ``encoded`` gives Kafka's bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

EVENT_ID: Final = "purposegate-event-id"
PURPOSE: Final = "purposegate-purpose"
POLICY_VERSION: Final = "purposegate-policy-version"
SOURCE_TOPIC: Final = "purposegate-source-topic"
ERASURE_REASON: Final = "purposegate-erasure-reason"
ERROR_KIND: Final = "purposegate-error-kind"

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


def tombstone_headers(reason: str, event_id: str, policy_version: str) -> dict[str, str]:
    """Why a withdrawal notice was sent, and which event and policy sent it.

    >>> tombstone_headers("use_suspended", "e1", "p9")[ERASURE_REASON]
    'use_suspended'
    """
    return {ERASURE_REASON: reason, EVENT_ID: event_id, POLICY_VERSION: policy_version}


def audit_headers(event_id: str) -> dict[str, str]:
    return {EVENT_ID: event_id}


def dead_letter_headers(error_kind: str) -> dict[str, str]:
    return {ERROR_KIND: error_kind}


def encoded(headers: Mapping[str, str]) -> list[tuple[str, bytes]]:
    """Kafka's form of text headers: ``[(name, UTF-8 bytes)]`` in the mapping's order.

    >>> encoded({"a": "é"})
    [('a', b'\\xc3\\xa9')]
    """
    return [(name, value.encode()) for name, value in headers.items()]
