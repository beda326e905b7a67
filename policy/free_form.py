"""A record's free-form values inspected once per event, before any route projects it.

The policy marks every input string with a kind (``free_form.strings``); the ``contact`` and
``free_form`` ones are inspected with their kind's detectors (``policy.inspection``). A field
holds a string, a map of strings (its keys and its values are both inspected: a customer types
both) or a list of strings. ``inspect`` returns None when nothing was found, which is almost
always; then every route projects the record as it came. On a find, each route that sends an
affected field projects a copy with that field redacted in place, or, on a route with
``on_content_hit: drop``, without the value (a map loses the whole entry, a list the item, a
string becomes null).

Audit paths never hold what a customer typed: ``gender``, ``answers{}.key``,
``answers{}.value``, ``x[]``. A redacted map key that equals a key already in the map gets
``#2``, ``#3``, ... appended in map order, so that no answer overwrites another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from policy.inspection import DETECTORS, Subject, TextInspector
from policy.models import FreeForm, InspectedKind, OnHit

#: The subject's own values the ``subject_value`` detector looks for (contract §3).
SUBJECT_FIELDS: Final = ("name", "email", "phone", "address", "postal_code")
#: Subjects remembered between events (customers come back); beyond, forgotten whole.
SUBJECT_MEMO: Final = 4096

Redaction = tuple[str, str]  # (path, detector): what the audit lists


class InspectingRoute(Protocol):
    """What ``Found.for_route`` reads of a route plan (``policy.compile.RoutePlan``)."""

    @property
    def inspected(self) -> frozenset[str]: ...
    @property
    def on_content_hit(self) -> OnHit: ...


@dataclass(frozen=True, slots=True)
class Found:
    """The inspected fields that held a find: their values redacted, their values with the
    finds dropped, and the (path, detector) of every find, per field."""

    redacted: Mapping[str, Any]
    dropped: Mapping[str, Any]
    hits: Mapping[str, tuple[Redaction, ...]]

    def for_route(
        self, record: Mapping[str, Any], route: InspectingRoute
    ) -> tuple[Mapping[str, Any], tuple[Redaction, ...]]:
        """The record a route projects, and the finds in the (inspected) fields it sends."""
        fields = [f for f in self.hits if f in route.inspected]
        if not fields:
            return record, ()
        values = self.dropped if route.on_content_hit == "drop" else self.redacted
        copy = dict(record)
        copy.update({field: values[field] for field in fields})
        return copy, tuple(hit for field in fields for hit in self.hits[field])


class RecordInspector:
    """The inspected fields of one input topic, prepared once: ``inspect(record)``."""

    __slots__ = ("_fields", "_subjects")

    def __init__(self, fields: Mapping[str, InspectedKind], free_form: FreeForm) -> None:
        by_kind = {
            kind: TextInspector(free_form.detectors.get(kind, ())) for kind in fields.values()
        }
        self._fields = tuple((field, by_kind[kind]) for field, kind in sorted(fields.items()))
        self._subjects: dict[tuple[Any, ...], Subject] = {}

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(field for field, _ in self._fields)

    def inspect(self, record: Mapping[str, Any]) -> Found | None:
        """The finds of the record's inspected fields; None when there is none."""
        subject = self._subject(record)
        redacted: dict[str, Any] = {}
        dropped: dict[str, Any] = {}
        hits: dict[str, tuple[Redaction, ...]] = {}
        get = record.get
        for field, inspector in self._fields:
            value = get(field)
            if value is None:
                continue
            if value.__class__ is str:  # the common case inline: no frame per value
                text, detectors = inspector.inspect(value, subject)
                if not detectors:
                    continue
                redacted[field], dropped[field] = text, None
                hits[field] = tuple((field, d) for d in detectors)
                continue
            clean, without, found = _inspect_value(field, value, inspector, subject)
            if found:
                redacted[field], dropped[field], hits[field] = clean, without, found
        return Found(redacted, dropped, hits) if hits else None

    def _subject(self, record: Mapping[str, Any]) -> Subject:
        get = record.get  # SUBJECT_FIELDS spelt out: a generator per event costs a frame
        key = (get("name"), get("email"), get("phone"), get("address"), get("postal_code"))
        subject = self._subjects.get(key)
        if subject is None:
            if len(self._subjects) >= SUBJECT_MEMO:
                self._subjects.clear()
            subject = self._subjects[key] = Subject.of(record, SUBJECT_FIELDS)
        return subject


def _inspect_value(
    field: str, value: Any, inspector: TextInspector, subject: Subject
) -> tuple[Any, Any, tuple[Redaction, ...]]:
    """(redacted, dropped, hits) of one field's value: a string, a map or a list of strings."""
    if isinstance(value, str):
        text, detectors = inspector.inspect(value, subject)
        if not detectors:  # almost always: no tuple built
            return text, None, ()
        return text, None, tuple((field, d) for d in detectors)
    if isinstance(value, dict):
        return _inspect_map(field, value, inspector, subject)
    if isinstance(value, list):
        hits: list[Redaction] = []
        redacted: list[Any] = []
        dropped: list[Any] = []
        for item in value:
            text, detectors = (
                inspector.inspect(item, subject) if isinstance(item, str) else (item, ())
            )
            hits += [(f"{field}[]", d) for d in detectors]
            redacted.append(text)
            if not detectors:
                dropped.append(item)
        return redacted, dropped, tuple(hits)
    return value, value, ()


def _inspect_map(
    field: str, value: dict[Any, Any], inspector: TextInspector, subject: Subject
) -> tuple[Any, Any, tuple[Redaction, ...]]:
    hits: list[Redaction] = []
    redacted: dict[Any, Any] = {}
    dropped: dict[Any, Any] = {}
    for key, item in value.items():
        new_key, key_hits = inspector.inspect(key, subject) if isinstance(key, str) else (key, ())
        new_item, item_hits = (
            inspector.inspect(item, subject) if isinstance(item, str) else (item, ())
        )
        if not key_hits and not item_hits:  # almost always: no find, no path built
            redacted[_free_key(new_key, redacted)] = new_item
            dropped[key] = item
            continue
        hits += [(f"{field}{{}}.key", d) for d in key_hits]
        hits += [(f"{field}{{}}.value", d) for d in item_hits]
        redacted[_free_key(new_key, redacted)] = new_item
    return redacted, dropped, tuple(hits)


def _free_key(key: Any, taken: Mapping[Any, Any]) -> Any:
    """The key, or (taken already: two keys redacted alike) the key with ``#2``, ``#3``, ...

    >>> _free_key("[redacted:email]", {"[redacted:email]": "a"})
    '[redacted:email]#2'
    """
    if key not in taken:
        return key
    number = 2
    while f"{key}#{number}" in taken:
        number += 1
    return f"{key}#{number}"


def record_inspectors(
    free_form: FreeForm | None, sent: Mapping[str, frozenset[str]]
) -> dict[str, RecordInspector]:
    """Per input topic, the inspector of the inspected fields some route sends (``sent``:
    topic -> the fields its routes send); topics with none have no inspector."""
    if free_form is None:
        return {}
    inspectors: dict[str, RecordInspector] = {}
    for topic, fields in sent.items():
        inspected = {f: k for f, k in free_form.inspected(topic).items() if f in fields}
        if inspected:
            inspectors[topic] = RecordInspector(inspected, free_form)
    return inspectors


def unknown_detectors(free_form: FreeForm) -> list[str]:
    """Faults: detector names the registry does not have."""
    return [
        f"free_form.detectors.{kind}: unknown detector '{name}' (known: {', '.join(DETECTORS)})"
        for kind, names in free_form.detectors.items()
        for name in names
        if name not in DETECTORS
    ]
