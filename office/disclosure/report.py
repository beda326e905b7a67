"""A subject's disclosure report (``purposegate report``), built from their audit records.

Pure: the caller reads the records (one partition of ``purposegate.audit``, or an audit file)
and says how to name a recipient under a policy version; :func:`build_report` keeps only the
records whose ``customer_id`` is the subject's (whatever the reader filtered before: no other
subject's data can reach the report), drops exact duplicates (an event decided again after a
crash is one decision), and sorts what is left by event time. Every forwarded decision is a
provision (APPI Article 29), every blocked one a block with its reason; the audit records of the
subject's own consent changes and Section 10 requests are the consent and request history, and
their ``tombstone_topics`` the erasure notices sent.

>>> report = build_report("C1", [], Window(), lambda version, recipient: Company(recipient))
>>> report.empty
True
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from policy import topics
from wire.jsonvalues import parse_timestamp


class Company(NamedTuple):
    """A recipient as the deciding policy version names it ("?" when that version is not kept)."""

    id: str
    name: str = "?"
    country: str = "?"


#: How to name a recipient: ``(policy_version, recipient id) -> Company``.
Companies = Callable[[str, str], Company]
#: The basis of a purpose under a version: ``(policy_version, purpose) -> basis or None``.
Bases = Callable[[str, str], str | None]


class Provision(NamedTuple):
    time: str
    event_id: str
    source_topic: str
    recipient: Company
    purpose: str
    items: tuple[str, ...]
    policy_version: str
    #: The id the recipient got for the subject, where the audit records it.
    subject_id: str | None = None
    #: The audit's basis of the provision, else the deciding policy's basis of the purpose.
    basis: str | None = None
    #: ``(path, detector)`` of each value inspection removed from the content (never the value).
    redactions: tuple[tuple[str, str], ...] = ()


class Unprocessed(NamedTuple):
    """An input of the subject that went to the DLQ: when it was given up, from where, why."""

    time: str | None
    source_topic: str
    error_kind: str


class Block(NamedTuple):
    time: str
    event_id: str
    source_topic: str
    recipient: Company
    purpose: str
    reason: str
    #: The consent change or Section 10 request behind the block (None: never consented).
    because_of: str | None
    policy_version: str


class Change(NamedTuple):
    """A consent change or a Section 10 request of the subject, as the audit recorded it."""

    time: str
    event_id: str
    #: The consent scope, or the request kind (``suspend_use``, ``resume_use``).
    what: str
    #: ``granted`` / ``withdrawn`` for consents, ``requested`` for requests.
    change: str
    #: ``recorded``, ``rejected``, ``superseded``, or ``unknown`` (text not understood).
    outcome: str
    late: bool
    text: str


class Erasure(NamedTuple):
    """A tombstone sent to a shared topic: the recipient was asked to forget the subject."""

    time: str
    event_id: str
    recipient: Company
    purpose: str
    reason: str


class ErasureState(NamedTuple):
    """What became of one erasure notice (``purposegate.erasures``): told at, read at, overdue
    since, gone (seen deleted) or gone by (the latest the broker deletes the data)."""

    recipient: Company
    purpose: str
    event_id: str
    state: str
    told_at: str
    read_at: str | None
    overdue_since: str | None
    gone_at: str | None
    gone_by: str | None


@dataclass(frozen=True)
class Window:
    """Event times from ``start`` (inclusive) to ``end`` (exclusive); None: unbounded."""

    start: datetime | None = None
    end: datetime | None = None

    def holds(self, time: datetime | None) -> bool:
        if time is None:
            return self.start is None and self.end is None
        return (self.start is None or time >= self.start) and (self.end is None or time < self.end)


@dataclass
class Report:
    subject: str
    window: Window
    provisions: list[Provision] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    consents: list[Change] = field(default_factory=list)
    requests: list[Change] = field(default_factory=list)
    erasures: list[Erasure] = field(default_factory=list)
    #: What became of each erasure notice (on Kafka only; empty from an audit file).
    erasure_states: list[ErasureState] = field(default_factory=list)
    #: Audit records with the subject's key that could not be read (said, never skipped).
    unreadable: int = 0
    #: Audit records that name the subject, at any time (0: no record names the id).
    named: int = 0
    #: The subject's inputs that went to the DLQ (by the input's key).
    unprocessed: list[Unprocessed] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.provisions or self.blocks or self.consents or self.requests or self.erasures
        )


_CONSENT: Final = re.compile(r"consent (?P<scope>\S+) (?P<verb>granted|withdrawn): (?P<out>\w+)")
_REQUEST: Final = re.compile(r"(?P<kind>suspend_use|resume_use): (?P<out>\w+)")
_OUTCOMES: Final = frozenset({"recorded", "rejected", "superseded"})
_NEVER: Final = datetime.min.replace(tzinfo=UTC)


def build_report(
    subject: str,
    records: Iterable[Mapping[str, Any]],
    window: Window,
    companies: Companies,
    bases: Bases = lambda version, purpose: None,
) -> Report:
    """The report of ``subject`` from audit records in their JSON form."""
    report = Report(subject, window)
    seen: set[str] = set()
    kept: list[Mapping[str, Any]] = []
    for record in records:
        if record.get("customer_id") != subject:
            continue
        report.named += 1
        if not window.holds(_time(record)):
            continue
        fingerprint = json.dumps(record, sort_keys=True, default=str)
        if fingerprint not in seen:
            seen.add(fingerprint)
            kept.append(record)
    kept.sort(key=lambda r: (_time(r) or _NEVER, str(r.get("event_id"))))
    for record in kept:
        _add(report, record, companies, bases)
    return report


def _time(record: Mapping[str, Any]) -> datetime | None:
    value = record.get("event_time")
    return parse_timestamp(value) if isinstance(value, str) else None


def _add(report: Report, record: Mapping[str, Any], companies: Companies, bases: Bases) -> None:
    source = str(record.get("source_topic"))
    if source == topics.CONSENTS:
        report.consents.append(_consent(record))
    elif source == topics.SUBJECT_REQUESTS:
        report.requests.append(_request(record))
    for decision in record.get("decisions") or []:
        _add_decision(report, record, decision, companies, bases)
    report.erasures += _erasures(record, companies)


def _add_decision(
    report: Report,
    record: Mapping[str, Any],
    decision: Mapping[str, Any],
    companies: Companies,
    bases: Bases,
) -> None:
    version = str(record.get("policy_version"))
    common = (
        str(record.get("event_time")),
        str(record.get("event_id")),
        str(record.get("source_topic")),
        companies(version, str(decision.get("recipient"))),
        str(decision.get("purpose")),
    )
    if decision.get("outcome") == "forwarded":
        items = tuple(str(f) for f in decision.get("fields_sent") or [])
        report.provisions.append(
            Provision(*common, items, version, *_provision_extras(decision, version, bases))
        )
    else:
        cause = decision.get("cause_event_id")
        because = None if cause is None else str(cause)
        report.blocks.append(Block(*common, str(decision.get("reason")), because, version))


def _provision_extras(
    decision: Mapping[str, Any], version: str, bases: Bases
) -> tuple[str | None, str | None, tuple[tuple[str, str], ...]]:
    """The subject id, basis and content redactions of a forwarded decision: the audit's own
    fields where it has them (``.get``: older records do not)."""
    subject_id = decision.get("subject_id")
    basis = decision.get("basis")
    if basis is None:
        basis = bases(version, str(decision.get("purpose")))
    found = decision.get("content_redactions") or []
    redactions = tuple(
        (str(r.get("path")), str(r.get("detector"))) for r in found if isinstance(r, Mapping)
    )
    return (None if subject_id is None else str(subject_id)), basis, redactions


def unprocessed(dead_letters: Iterable[Mapping[str, Any]]) -> list[Unprocessed]:
    """The subject's DLQ records (already found by the input key), oldest first; nothing of
    the raw bytes or the error text is kept (the text may name fields the subject typed)."""
    found = [
        Unprocessed(
            None if record.get("received_time") is None else str(record.get("received_time")),
            str(record.get("source_topic")),
            str(record.get("error_kind")),
        )
        for record in dead_letters
    ]
    return sorted(found, key=lambda u: (u.time or "", u.source_topic, u.error_kind))


def _consent(record: Mapping[str, Any]) -> Change:
    text = str(record.get("state_change") or "")
    found = _CONSENT.match(text)
    if found is None:
        return _change(record, "?", "?", "unknown", text)
    return _change(record, found["scope"], found["verb"], _outcome(found["out"]), text)


def _request(record: Mapping[str, Any]) -> Change:
    text = str(record.get("state_change") or "")
    found = _REQUEST.match(text)
    if found is None:
        return _change(record, "?", "requested", "unknown", text)
    return _change(record, found["kind"], "requested", _outcome(found["out"]), text)


def _outcome(word: str) -> str:
    return word if word in _OUTCOMES else "unknown"


def _change(record: Mapping[str, Any], what: str, change: str, outcome: str, text: str) -> Change:
    time, event_id = str(record.get("event_time")), str(record.get("event_id"))
    return Change(time, event_id, what, change, outcome, bool(record.get("late")), text)


def _erasures(record: Mapping[str, Any], companies: Companies) -> list[Erasure]:
    notified = record.get("tombstone_topics") or []
    if not notified:
        return []
    version = str(record.get("policy_version"))
    found = _CONSENT.match(str(record.get("state_change") or ""))
    reason = f"consent_withdrawn:{found['scope']}" if found else "use_suspended"
    erasures = []
    for topic in notified:
        recipient, _, purpose = str(topic).removeprefix(topics.SHARED_PREFIX).partition(".")
        erasures.append(
            Erasure(
                str(record.get("event_time")),
                str(record.get("event_id")),
                companies(version, recipient),
                purpose,
                reason,
            )
        )
    return erasures
