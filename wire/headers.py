"""Every Kafka header purposegate writes, named once.

Every record says which event and which policy it comes from (``purposegate-event-id``,
``purposegate-policy-version``), so a consumer or an auditor with the console consumer can
tell without decoding the value. Output records add their purpose and source topic;
tombstones say why the key must be forgotten; audit records their source topic (``explain``
finds them by event id); dead letters their error kind and source topic (and the event id
only when the bad record still had one). Header values are text here; ``encoded`` gives
Kafka's bytes.
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
    purpose, version = output_value["purpose"], output_value["policy_version"]
    source = output_value["source_topic"]
    texts = purpose.__class__ is str and version.__class__ is str and source.__class__ is str
    tail = _STAMP_TAILS.get((purpose, version, source)) if texts else None
    if tail is None:
        tail = [(PURPOSE, str(purpose).encode()), (POLICY_VERSION, str(version).encode())]
        tail.append((SOURCE_TOPIC, str(source).encode()))
        if texts and len(_STAMP_TAILS) < MAX_STAMPS:
            _STAMP_TAILS[(purpose, version, source)] = tail
    return [(EVENT_ID, str(output_value["event_id"]).encode()), *tail]


#: (purpose, policy version, source topic) -> their header bytes: a few per policy version.
_STAMP_TAILS: dict[tuple[str, str, str], list[tuple[str, bytes]]] = {}
MAX_STAMPS: Final = 1024


def tombstone_headers(reason: str, event_id: str, policy_version: str) -> dict[str, str]:
    """Why a withdrawal notice was sent, and which event and policy sent it.

    >>> tombstone_headers("use_suspended", "e1", "p9")[ERASURE_REASON]
    'use_suspended'
    """
    return {ERASURE_REASON: reason, EVENT_ID: event_id, POLICY_VERSION: policy_version}


#: Longest event id a dead letter's header repeats (a bad record's id may be anything).
MAX_HEADER_EVENT_ID: Final = 200


def audit_headers(event_id: str, policy_version: str, source_topic: str) -> dict[str, str]:
    """Which event, policy and input topic an audit record is about.

    >>> sorted(audit_headers("e1", "p9", "orders"))
    ['purposegate-event-id', 'purposegate-policy-version', 'purposegate-source-topic']
    """
    return {EVENT_ID: event_id, POLICY_VERSION: policy_version, SOURCE_TOPIC: source_topic}


def audit_header_bytes(
    event_id: str, policy_version: str, source_topic: str
) -> list[tuple[str, bytes]]:
    """``encoded(audit_headers(...))``, the same list, with the policy's and topic's bytes kept.

    >>> audit_header_bytes("e1", "p9", "orders") == encoded(audit_headers("e1", "p9", "orders"))
    True
    """
    tail = _AUDIT_TAILS.get((policy_version, source_topic))
    if tail is None:
        tail = [(POLICY_VERSION, policy_version.encode()), (SOURCE_TOPIC, source_topic.encode())]
        if len(_AUDIT_TAILS) < MAX_STAMPS:
            _AUDIT_TAILS[(policy_version, source_topic)] = tail
    return [(EVENT_ID, event_id.encode()), *tail]


_AUDIT_TAILS: dict[tuple[str, str], list[tuple[str, bytes]]] = {}


def dead_letter_headers(
    error_kind: str, policy_version: str, source_topic: str, event_id: object = None
) -> dict[str, str]:
    """The event id only when the bad record has a usable one (a string of sane length).

    >>> dead_letter_headers("malformed", "p9", "orders")[ERROR_KIND]
    'malformed'
    >>> EVENT_ID in dead_letter_headers("missing_field", "p9", "orders", "e1")
    True
    """
    headers = {ERROR_KIND: error_kind, POLICY_VERSION: policy_version, SOURCE_TOPIC: source_topic}
    if isinstance(event_id, str) and 0 < len(event_id) <= MAX_HEADER_EVENT_ID:
        headers[EVENT_ID] = event_id
    return headers


def encoded(headers: Mapping[str, str]) -> list[tuple[str, bytes]]:
    """Kafka's form of text headers: ``[(name, UTF-8 bytes)]`` in the mapping's order.

    >>> encoded({"a": "é"})
    [('a', b'\\xc3\\xa9')]
    """
    return [(name, value.encode()) for name, value in headers.items()]
