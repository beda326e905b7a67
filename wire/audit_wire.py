"""The audit record's Avro body straight from a ``Decision``, from cached per-route pieces.

The worker writes one audit record per input event; through ``Decision.audit_record()`` and
fastavro that cost ~40 µs for an order (five route decisions), more than deciding it. Most of
it never changes: a route decision's recipient, purpose, topic, outcome, reason and field lists
are the compiled policy's, so their bytes are encoded once and remembered; only the event's ids,
time, each block's cause, each forwarded decision's basis and subject id, and content
inspection's finds (``content_redactions``) are encoded per event.

The bytes are exactly fastavro's for ``audit_record()`` with the ``AuditRecord`` schema whose
parsing canonical form has fingerprint ``AUDIT_FINGERPRINT``; ``Codec`` uses this writer only
for that schema, and falls back to fastavro for anything this writer does not take (a value of
an unexpected type), so the bytes, and the errors, are fastavro's in every case.

>>> from datetime import UTC, datetime
>>> from policy.decision import Decision
>>> body = audit_body(Decision("e1", datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC), "orders",
...                            "C1", (), "p9", (), ()))
>>> body[:3], body[3:5]
(b'\\x04e1', b'\\xd0\\x0f')
"""

from __future__ import annotations

from typing import Any, Final

from policy.decision import Decision, RouteDecision, describe_change
from wire.fastwrite import Unfit, long_bytes, millis, string_bytes

#: CRC-64-AVRO of the parsing canonical form of ``schemas/audit/AuditRecord.avsc`` this writer
#: follows field by field. Another form (the schema changed): ``Codec`` writes with fastavro.
AUDIT_FINGERPRINT: Final = "6c84e4a3cab00eff"
#: Route decisions (without their cause) whose bytes are remembered; beyond, forgotten whole.
MEMO_SIZE: Final = 4096

_EMPTY: Final = b"\x00"  # an empty array; also union branch 0, and false
_TRUE: Final = b"\x01"
_NULL_SECOND: Final = b"\x02"  # union branch 1 (null in ["string", "null"])


def strings_bytes(items: tuple[str, ...] | list[str]) -> bytes:
    """An array of strings as fastavro writes one: one block, then the end (0)."""
    if not items:
        return _EMPTY
    return long_bytes(len(items)) + b"".join([string_bytes(s) for s in items]) + _EMPTY


class AuditWriter:
    """``writer(decision) -> the AuditRecord body`` (no wire header). Build one per codec."""

    __slots__ = ("_pieces", "_texts")

    def __init__(self) -> None:
        self._pieces: dict[tuple[Any, ...], bytes] = {}
        self._texts: dict[Any, bytes] = {}  # topics, versions, purpose lists: few values

    def __call__(self, decision: Decision) -> bytes:
        late = decision.late
        if late is not True and late is not False:
            raise Unfit
        parts = [
            string_bytes(decision.event_id),
            long_bytes(millis(decision.event_time)),
            self._text(decision.source_topic),
            string_bytes(decision.customer_id),
            self._list(decision.purposes),
            self._text(decision.policy_version),
            self._decisions(decision.decisions),
            self._change(decision),
            self._list(decision.unclassified_fields),
            self._list(tuple(sorted({t.topic for t in decision.tombstones}))),
            _TRUE if late else _EMPTY,
        ]
        return b"".join(parts)

    def _text(self, text: str) -> bytes:
        found = self._texts.get(text)
        if found is None:
            found = self._remember(text, string_bytes(text))
        return found

    def _list(self, items: tuple[str, ...]) -> bytes:
        if not items:
            return _EMPTY
        if items.__class__ is not tuple:
            raise Unfit
        found = self._texts.get(items)
        if found is None:
            found = self._remember(items, strings_bytes(items))
        return found

    def _remember(self, key: Any, value: bytes) -> bytes:
        if len(self._texts) >= MEMO_SIZE:
            self._texts.clear()
        self._texts[key] = value
        return value

    def _decisions(self, decisions: tuple[RouteDecision, ...]) -> bytes:
        if not decisions:
            return _EMPTY
        pieces = self._pieces
        parts = [long_bytes(len(decisions))]
        for route in decisions:
            key = route[:7]  # all but the categories (not audited) and the per-event fields
            piece = pieces.get(key)
            if piece is None:
                piece = _route_piece(route)
                if len(pieces) >= MEMO_SIZE:
                    pieces.clear()
                pieces[key] = piece
            parts.append(piece)
            cause = route.cause_event_id
            parts.append(_NULL_SECOND if cause is None else _EMPTY + string_bytes(cause))
            parts.append(_provision(route))
            redactions = route.content_redactions
            parts.append(_redactions(redactions) if redactions else _EMPTY)
        parts.append(_EMPTY)
        return b"".join(parts)

    def _change(self, decision: Decision) -> bytes:
        """``state_change``: ["null", "string"]."""
        change = decision.state_change
        if change is None:
            return _EMPTY
        return _NULL_SECOND + string_bytes(
            describe_change(change, decision.tombstones, decision.late)
        )


def _provision(route: RouteDecision) -> bytes:
    """``basis`` and ``subject_id``: two ["null", "string"] (null: branch 0)."""
    basis, subject_id = route.basis, route.subject_id
    return (_EMPTY if basis is None else _NULL_SECOND + string_bytes(basis)) + (
        _EMPTY if subject_id is None else _NULL_SECOND + string_bytes(subject_id)
    )


def _redactions(redactions: tuple[tuple[str, str], ...]) -> bytes:
    """``content_redactions``: an array of (path, detector) records, one block."""
    if redactions.__class__ is not tuple:
        raise Unfit
    body = b"".join([string_bytes(path) + string_bytes(found) for path, found in redactions])
    return long_bytes(len(redactions)) + body + _EMPTY


def _route_piece(route: RouteDecision) -> bytes:
    """An ``AuditDecision`` up to its cause: five strings and two string arrays."""
    for field in (route.fields_sent, route.fields_redacted):
        if field.__class__ is not tuple:
            raise Unfit
    return b"".join(
        [
            string_bytes(route.recipient),
            string_bytes(route.purpose),
            string_bytes(route.topic),
            string_bytes(route.outcome),
            string_bytes(route.reason),
            strings_bytes(route.fields_sent),
            strings_bytes(route.fields_redacted),
        ]
    )


_SHARED: Final = AuditWriter()


def audit_body(decision: Decision) -> bytes:
    """The body with a writer shared by the module (tools and examples)."""
    return _SHARED(decision)
