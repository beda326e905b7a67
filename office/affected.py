"""Breach sizing (``purposegate affected``, APPI Article 26): what one recipient received in a
window of time, from the audit. Pure.

The window is on the time each record was *sent* to the recipient: the audit record's own time
(its Kafka timestamp: the worker writes it with the outputs it records), not the event's
``event_time`` (when the customer acted; an event may be sent long after, or replayed). A
breach between T1 and T2 exposes what the recipient held from what was sent before T2; the
question the office asks of this command is what reached the recipient during the window.

Counted per purpose: the forwarded decisions to the recipient (a provision), as distinct events
(an event decided twice after a worker restart was sent twice but is one record of the
subject), the distinct subjects and the items sent (``fields_sent``). Blocked decisions sent
nothing and are not counted.

>>> from datetime import UTC, datetime
>>> at = datetime(2026, 1, 1, tzinfo=UTC)
>>> d = {"recipient": "r", "purpose": "p", "outcome": "forwarded", "fields_sent": ["name"]}
>>> found = affected([(at, {"event_id": "e", "customer_id": "C1", "decisions": [d]})],
...                  "r", Window(at, at.replace(year=2027)))
>>> (found.records, sorted(found.subjects))
(1, ['C1'])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Window:
    """Send times from ``start`` (inclusive) to ``end`` (exclusive)."""

    start: datetime
    end: datetime

    def holds(self, time: datetime) -> bool:
        return self.start <= time < self.end


@dataclass
class PurposeTally:
    events: set[str] = field(default_factory=set)
    subjects: set[str] = field(default_factory=set)
    items: set[str] = field(default_factory=set)


@dataclass
class Affected:
    recipient: str
    window: Window
    #: Audit records in the window that were read (the readers skip those that do not name
    #: the recipient without decoding them).
    read: int = 0
    per_purpose: dict[str, PurposeTally] = field(default_factory=dict)
    #: customer id -> the subject ids the recipient got for them (empty: the audit names none).
    subjects: dict[str, set[str]] = field(default_factory=dict)

    @property
    def records(self) -> int:
        return sum(len(t.events) for t in self.per_purpose.values())

    @property
    def items(self) -> set[str]:
        return set().union(*(t.items for t in self.per_purpose.values()))


def affected(
    records: Iterable[tuple[datetime, Mapping[str, Any]]], recipient: str, window: Window
) -> Affected:
    """What ``recipient`` was sent in ``window``, from ``(sent time, audit value)`` pairs."""
    result = Affected(recipient, window)
    for sent, value in records:
        if not window.holds(sent):
            continue
        result.read += 1
        for decision in value.get("decisions") or ():
            if decision.get("recipient") == recipient and decision.get("outcome") == "forwarded":
                _add(result, value, decision)
    return result


def _add(result: Affected, value: Mapping[str, Any], decision: Mapping[str, Any]) -> None:
    customer = str(value.get("customer_id"))
    tally = result.per_purpose.setdefault(str(decision.get("purpose")), PurposeTally())
    tally.events.add(str(value.get("event_id")))
    tally.subjects.add(customer)
    tally.items.update(str(f) for f in decision.get("fields_sent") or ())
    ids = result.subjects.setdefault(customer, set())
    subject_id = decision.get("subject_id")  # the recipient's own id, where the audit has it
    if subject_id is not None:
        ids.add(str(subject_id))
