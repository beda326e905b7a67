"""The disclosure report as a document for the customer, in their language: what it says, as
data (:class:`Document`), built from a :class:`~office.disclosure.report.Report`. Pure; the text
and HTML forms (``office.disclosure.document``) only lay it out.

Order: who writes (SEPTEM, from the policy's ``metadata``), to whom and when (issue date,
request reference, the customer number, the period); a summary per company (how often provided,
for which purposes, which items, the id the company got; how often not provided; erasure
notices); the messages we could not process; then every entry in detail. Every sentence is one
catalogue message (``office.disclosure.i18n``) with named fields: no sentence is made
of translated pieces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from office.disclosure import words as w
from office.disclosure.i18n import catalogue, day, when
from office.disclosure.report import Company, Report
from policy.models import Metadata


@dataclass(frozen=True)
class Letter:
    """What the office adds to a report to hand it over."""

    lang: str
    issued: datetime
    reference: str
    metadata: Metadata | None
    #: Each policy version's first decision (for "in use since").
    first_use: Mapping[str, datetime] = field(default_factory=dict)


@dataclass
class Document:
    title: str
    about: list[str]
    sender: list[str]
    notes: list[str]
    summary: list[tuple[str, list[str]]]
    details: list[tuple[str, list[str]]]
    summary_title: str = ""
    details_title: str = ""


def document(report: Report, letter: Letter) -> Document:
    """The document of ``report``; ``ConfigError`` is the caller's for an id nobody names."""
    _ = catalogue(letter.lang).gettext
    return Document(
        title=_("Disclosure report: your personal data and our group companies"),
        about=_about(report, letter),
        sender=_sender(letter),
        notes=_notes(report, letter),
        summary=_summary(report, letter),
        details=w.sections(report, letter.lang, letter.first_use),
        summary_title=_("Summary by company"),
        details_title=_("Details"),
    )


def _about(report: Report, letter: Letter) -> list[str]:
    _ = catalogue(letter.lang).gettext
    window = report.window
    # the bounds to the minute: a window given in UTC days starts at 09:00 JST
    start = when(window.start, letter.lang) if window.start else _("the first record")
    end = when(window.end, letter.lang) if window.end else _("the date of issue")
    return [
        _("Issued: {date}").format(date=day(letter.issued, letter.lang)),
        _("Reference: {reference}").format(reference=letter.reference),
        _("Customer number: {subject}").format(subject=report.subject),
        _("Period: from {start} to {end}").format(start=start, end=end),
    ]


def _sender(letter: Letter) -> list[str]:
    _ = catalogue(letter.lang).gettext
    m = letter.metadata
    if m is None:
        return []
    lines = [
        _("From: {controller}").format(controller=m.controller),
        _("Contact: {contact}").format(contact=m.contact),
        _("Address: {address}").format(address=m.address),
    ]
    if m.hours:
        lines.append(_("Hours: {hours}").format(hours=m.hours))
    return lines


def _notes(report: Report, letter: Letter) -> list[str]:
    t = catalogue(letter.lang)
    notes = []
    if report.unreadable:
        notes.append(
            t.ngettext(
                "{count} audit record of yours could not be read and is not shown; the "
                "privacy office will complete this report.",
                "{count} audit records of yours could not be read and are not shown; the "
                "privacy office will complete this report.",
                report.unreadable,
            ).format(count=report.unreadable)
        )
    if report.unprocessed:
        notes.append(w.unprocessed_note(report.unprocessed, letter.lang))
    if report.empty:
        notes.append(
            t.gettext(
                "In this period nothing of yours was provided to a group company or held back, "
                "and no consent change or request of yours is on record."
            )
        )
    return notes


@dataclass
class _Tally:
    company: Company
    provided: int = 0
    purposes: dict[str, None] = field(default_factory=dict)
    items: dict[str, None] = field(default_factory=dict)
    ids: dict[str, None] = field(default_factory=dict)
    blocked: int = 0
    erasures: int = 0


def _summary(report: Report, letter: Letter) -> list[tuple[str, list[str]]]:
    tallies: dict[str, _Tally] = {}
    for p in report.provisions:
        tally = tallies.setdefault(p.recipient.id, _Tally(p.recipient))
        tally.provided += 1
        tally.purposes.setdefault(p.purpose, None)
        tally.items.update(dict.fromkeys(p.items))
        if p.subject_id is not None:
            tally.ids.setdefault(p.subject_id, None)
    for b in report.blocks:
        tallies.setdefault(b.recipient.id, _Tally(b.recipient)).blocked += 1
    for e in report.erasures:
        tallies.setdefault(e.recipient.id, _Tally(e.recipient)).erasures += 1
    return [
        (w.company(t.company, letter.lang), _company_lines(t, letter.lang))
        for _, t in sorted(tallies.items(), key=lambda kv: (-kv[1].provided, kv[0]))
    ]


def _company_lines(tally: _Tally, lang: str) -> list[str]:
    t = catalogue(lang)
    lines = []
    if tally.provided:
        purposes = w.listed([w.purpose(p, lang) for p in tally.purposes], lang)
        lines.append(
            t.ngettext(
                "Provided {count} time, for: {purposes}.",
                "Provided {count} times, for: {purposes}.",
                tally.provided,
            ).format(count=tally.provided, purposes=purposes)
        )
        items = w.listed([w.item(i, lang) for i in tally.items], lang)
        lines.append(t.gettext("Items provided: {items}.").format(items=items))
    else:
        lines.append(t.gettext("Nothing was provided."))
    if tally.ids:
        ids = w.listed(list(tally.ids), lang)
        lines.append(t.gettext("The id this company has for you: {ids}.").format(ids=ids))
    if tally.blocked:
        lines.append(
            t.ngettext(
                "Not provided {count} time (see the details for why).",
                "Not provided {count} times (see the details for why).",
                tally.blocked,
            ).format(count=tally.blocked)
        )
    if tally.erasures:
        lines.append(
            t.ngettext(
                "Asked {count} time to erase your data.",
                "Asked {count} times to erase your data.",
                tally.erasures,
            ).format(count=tally.erasures)
        )
    return lines
