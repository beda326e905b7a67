"""Finding what ``explain`` explains: an event's audit records in an audit file (a corrupt line
skipped and counted, not fatal), its dead letters when it never was decided (the DLQ file
beside the audit, or the DLQ topic), and the records a recipient's own ids point at: the
subject id it got (each forwarded decision's record of provision names it, CONTRACT.md §4) and
a pseudonymised route's HMAC event id (computed with the pseudonym keys over the audit's ids).

A line that is JSON but no audit record (an input line) still refuses the file: it is the wrong
file, not a damaged one.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policy import topics
from policy.errors import ConfigError
from policy.keys import PseudonymKeys
from policy.operators import PSEUDONYM_KEY
from streams.kafka.reader import open_reader, records
from streams.settings import Settings
from streams.wire import Codec, Decoded, SchemaStore
from streams.wire.jsonl import read_lines

KEPT_DLQ_BESIDE_AUDIT = f"{topics.DLQ}.jsonl"


@dataclass
class Skipped:
    """Corrupt lines of the audit file (not JSON: a truncated write), by line number."""

    lines: list[int]

    def note(self) -> str | None:
        if not self.lines:
            return None
        first = ", ".join(str(n) for n in self.lines[:5])
        return (
            f"explain: skipped {len(self.lines)} corrupt line(s) of the audit file that are not "
            f"JSON (line {first}{', ...' if len(self.lines) > 5 else ''})"
        )


def audit_values(path: Path, skipped: Skipped) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, audit value)`` of every audit record of the file; a corrupt line is
    skipped (counted in ``skipped``); a JSON line of another kind refuses the file."""
    for number, raw in read_lines(path):
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            skipped.lines.append(number)
            continue
        value = document.get("value") if isinstance(document, dict) else None
        if not isinstance(document, dict) or document.get("topic") != topics.AUDIT:
            value = None
        if value is None or not _is_audit_value(value):
            raise ConfigError(
                f"{path} is not an audit file: line {number} is not a {topics.AUDIT} record"
            )
        yield number, value


def _is_audit_value(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("decisions"), list)
        and isinstance(value.get("policy_version"), str)
    )


class Match:
    """How a recipient's id matched an audit record (printed before its explanation)."""

    def __init__(self, recipient: str, what: str) -> None:
        self.recipient, self.what = recipient, what

    def __str__(self) -> str:
        return f"found by {self.recipient}'s {self.what}"


def recipient_match(
    value: Mapping[str, Any], wanted: str, keys: PseudonymKeys | None
) -> Match | None:
    """Whether ``wanted`` is an id a recipient got with this record: the subject id of a
    forwarded route (its record of provision holds it; an audit record older than that field:
    computed with the keys), or, with the keys, a pseudonymised route's HMAC event id."""
    for decision in value.get("decisions") or []:
        if decision.get("outcome") != "forwarded":
            continue
        recipient = str(decision.get("recipient"))
        pseudonymised = PSEUDONYM_KEY in (decision.get("fields_sent") or [])
        known = keys if keys is not None and recipient in keys.recipients else None
        subject_id = decision.get("subject_id")
        if subject_id is None and known is not None:
            subject_id = known.pseudonymiser(recipient)(str(value.get("customer_id")))
        if subject_id is not None and subject_id == wanted:
            return Match(recipient, "subject pseudonym" if pseudonymised else "subject id")
        hmac_of = known.event_id_pseudonymiser(recipient) if known and pseudonymised else None
        if hmac_of is not None and hmac_of(str(value.get("event_id"))) == wanted:
            return Match(recipient, "HMAC event id")
    return None


def dead_letters_in_file(path: Path, event_id: str) -> list[dict[str, Any]]:
    """The DLQ records (``dry-run``'s file beside the audit) whose raw input names
    ``event_id``."""
    found = []
    for _, raw in read_lines(path):
        try:
            value = json.loads(raw).get("value") or {}
            original = base64.b64decode(value.get("raw") or "", validate=True)
        except (ValueError, AttributeError, binascii.Error):
            continue
        if _raw_event_id(original, None) == event_id:
            found.append(value)
    return found


def dead_letters_on_kafka(settings: Settings, event_id: str) -> list[dict[str, Any]]:
    """The DLQ topic's records whose raw input (Avro, or a JSON line) names ``event_id``."""
    codec = Codec(SchemaStore.load(), settings)
    reader = open_reader(settings, [topics.DLQ])
    found = []
    try:
        for record in records(reader, follow=False):
            decoded = codec.decode(record.value)
            raw = decoded.value.get("raw") if isinstance(decoded, Decoded) else None
            if isinstance(raw, bytes) and _raw_event_id(raw, codec) == event_id:
                found.append(decoded.value)  # type: ignore[union-attr]
    finally:
        reader.client.close()
    return found


def _raw_event_id(raw: bytes, codec: Codec | None) -> str | None:
    """The event id a dead letter's raw bytes hold, when they hold one."""
    if codec is not None:
        decoded = codec.decode(raw)
        if isinstance(decoded, Decoded):
            return str(decoded.value.get("event_id"))
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    value = document.get("value", document)  # a file's line, or a bare value sent to Kafka
    if isinstance(value, dict) and isinstance(value.get("event_id"), str):
        return str(value["event_id"])
    return None


def dead_letter_lines(event_id: str, letters: list[dict[str, Any]], where: str) -> list[str]:
    """What ``explain`` says of an event that went to the DLQ: where, and the reason (which
    names fields, never values)."""
    lines = [f"event {event_id} was not decided: it went to the DLQ ({where})"]
    for letter in letters:
        place = (
            f"line {letter.get('offset')}"
            if letter.get("partition") is None
            else f"partition {letter.get('partition')} offset {letter.get('offset')}"
        )
        lines.append(
            f"  from {letter.get('source_topic')} {place}: {letter.get('error_kind')}: "
            f"{letter.get('error')}"
        )
    lines.append("  nothing of it went to any recipient, and it has no audit record")
    return lines
