"""The three forms of a disclosure report: plain text and HTML the customer may receive, and JSON
for systems. Pure. Every string from the audit or the policy is treated as hostile: the text form
shows control and invisible characters as ``\\u....`` escapes (no terminal escape sequence gets
through), the HTML form escapes every value, the JSON form is ``json.dumps``.

>>> from office.disclosure.report import Report, Window
>>> render_text(Report("C1", Window()), "the audit file a.jsonl").splitlines()[2] == EMPTY
True
"""

from __future__ import annotations

import html
import json
import unicodedata
from collections.abc import Iterable
from typing import Any, Final

from office.disclosure.report import (
    Block,
    Change,
    Company,
    Erasure,
    ErasureState,
    Provision,
    Report,
)

REASONS: Final[dict[str, str]] = {
    "no_consent": "this use needs your consent, and you had not given it",
    "cross_border_consent_missing": (
        "the company is outside Japan and you had not consented to provision to a foreign "
        "company (APPI Article 28)"
    ),
    "use_suspended": "you had asked us to suspend this use of your data (Section 10)",
    "consent_expired": "the consent you had given for this use had expired",
    "not_shared_item": "the record holds items that Section 6 does not list as shared",
}
SOURCES: Final[dict[str, str]] = {
    "orders": "an order",
    "inquiries": "an inquiry",
    "campaign-entries": "a campaign entry",
}
OUTCOMES: Final[dict[str, str]] = {
    "recorded": "recorded",
    "rejected": "not acted on: your identity was not verified",
    "superseded": "not applied: a later change was already in force",
    "unknown": "as recorded",
}
PLAIN: Final[dict[str, str]] = {
    "subject_pseudonym": "a pseudonym (not your name or customer number)",
    "subject_id": "that company's id for you (not your customer number)",
    "cross_border": "provision to companies outside Japan",
}
EMPTY: Final = (
    "No record in the audit names you: nothing of yours was provided to any group company or "
    "blocked, and no consent change or request of yours is on record."
)


def safe(value: object) -> str:
    """``value`` as text with control, format and separator characters escaped."""
    return "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c)[0] in "CZ" and c != " " else c
        for c in str(value)
    )


def words(name: str) -> str:
    """A field, purpose or scope id in words: ``order_id`` → ``order id``."""
    if name in PLAIN:
        return PLAIN[name]
    return safe(name).replace("_", " ")


def company(recipient: Company) -> str:
    if recipient.name == "?":
        return f"{safe(recipient.id)} (company not named: its policy version is not kept)"
    return f"{safe(recipient.name)} ({safe(recipient.country)})"


#: A provision's basis in words (``policy.provision``); the event id of a consent follows.
BASES: Final[dict[str, str]] = {
    "consent": "your consent",
    "cross_border": "your consent to provision abroad",
    "contract": "the contract with you",
    "application": "your application",
    "legal_duty": "a legal duty",
    "membership": "your membership",
    "pseudonymised": "product development, pseudonymised only",
}


def basis_words(basis: str) -> str:
    """``consent:con-1; cross_border:con-2`` → ``your consent (con-1) and your consent to
    provision abroad (con-2)``."""
    parts = []
    for part in basis.split("; "):
        name, _, event_id = part.partition(":")
        text = BASES.get(name, safe(name))
        parts.append(f"{text} ({safe(event_id)})" if event_id else text)
    return " and ".join(parts)


def provision_line(p: Provision) -> str:
    items = ", ".join(words(i) for i in p.items) or "no item beyond the record's date and number"
    source = SOURCES.get(p.source_topic, safe(p.source_topic))
    record = ""
    if p.basis is not None:
        record += f" Basis: {basis_words(p.basis)}."
    if p.subject_id is not None:
        record += f" Your id at that company: {safe(p.subject_id)}."
    return (
        f"{safe(p.time)}  to {company(p.recipient)} for {words(p.purpose)}, from {source}: "
        f"{items}.{record} (event {safe(p.event_id)}, policy {safe(p.policy_version)})"
    )


def block_line(b: Block) -> str:
    reason = REASONS.get(b.reason, words(b.reason))
    cause = f"; see {safe(b.because_of)}" if b.because_of else ""
    return (
        f"{safe(b.time)}  not provided to {company(b.recipient)} for {words(b.purpose)}, "
        f"because {reason}. (event {safe(b.event_id)}{cause})"
    )


def change_line(c: Change) -> str:
    what = f"{words(c.what)} {c.change}" if c.change != "requested" else words(c.what)
    opens = c.change == "granted" or c.what == "resume_use"
    late = (
        (
            " (received after later events were decided"
            + ("; nothing was provided retroactively)" if opens else ")")
        )
        if c.late
        else ""
    )
    return f"{safe(c.time)}  {what}: {OUTCOMES[c.outcome]}{late}. (event {safe(c.event_id)})"


def erasure_line(e: Erasure) -> str:
    scope, _, purpose_scope = e.reason.partition(":")
    why = (
        f"you withdrew your consent to {words(purpose_scope)}"
        if scope == "consent_withdrawn"
        else "you asked us to suspend use of your data"
    )
    return (
        f"{safe(e.time)}  {company(e.recipient)} was told to erase your data held for "
        f"{words(e.purpose)}, because {why}. (event {safe(e.event_id)})"
    )


def erasure_state_line(s: ErasureState) -> str:
    """One notice's fate in words: told, read, overdue, gone (docs/privacy-office.md)."""
    told = f"{safe(s.told_at)}  {company(s.recipient)} ({words(s.purpose)}): told to erase"
    if s.read_at is None:
        late = f", overdue since {safe(s.overdue_since)}" if s.overdue_since else ""
        return f"{told}; has not read the notice yet{late}. (event {safe(s.event_id)})"
    gone = (
        f"the records sent to it were removed from the shared topic on {safe(s.gone_at)}"
        if s.gone_at
        else f"the records sent to it leave the shared topic by {safe(s.gone_by)} at the latest"
    )
    return f"{told}; read the notice on {safe(s.read_at)}; {gone}. (event {safe(s.event_id)})"


def erasure_sections(report: Report) -> list[tuple[str, list[str]]]:
    """The section on what became of the erasure notices, when there is anything to say."""
    if not report.erasure_states:
        return []
    lines = _lines(erasure_state_line, report.erasure_states)
    return [("What became of each erasure notice", lines)]


def sections(report: Report) -> list[tuple[str, list[str]]]:
    """The report's sections: title and lines, in the order both text and HTML show them."""
    return [
        (
            "Provided to group companies (APPI Article 29)",
            _lines(provision_line, report.provisions),
        ),
        ("Not provided, and why", _lines(block_line, report.blocks)),
        ("Your consents", _lines(change_line, report.consents)),
        (
            "Your requests to suspend or resume use (Section 10)",
            _lines(change_line, report.requests),
        ),
        ("Erasure notices sent to group companies", _lines(erasure_line, report.erasures)),
        *erasure_sections(report),
    ]


def _lines(render: Any, items: Iterable[Any]) -> list[str]:
    return [render(item) for item in items]


def heading(report: Report, where: str) -> list[str]:
    start = safe(report.window.start.isoformat()) if report.window.start else "the beginning"
    end = safe(report.window.end.isoformat()) if report.window.end else "now"
    lines = [
        f"Disclosure report for customer {safe(report.subject)}",
        f"Period: {start} to {end}. Read from {safe(where)}.",
    ]
    if report.unreadable:
        lines.append(
            f"Warning: {report.unreadable} audit record(s) of yours could not be read and are not "
            "shown; the privacy office will complete this report."
        )
    return lines


def render_text(report: Report, where: str) -> str:
    lines = heading(report, where)
    if report.empty:
        return "\n".join([*lines, EMPTY]) + "\n"
    for title, body in sections(report):
        lines += ["", f"{title}: {len(body)}", *(f"  {line}" for line in body or ["none"])]
    return "\n".join(lines) + "\n"


def render_html(report: Report, where: str) -> str:
    head = heading(report, where)
    out = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(head[0])}</title></head><body>",
        f"<h1>{html.escape(head[0])}</h1>",
        *(f"<p>{html.escape(line)}</p>" for line in head[1:]),
    ]
    if report.empty:
        out.append(f"<p>{html.escape(EMPTY)}</p>")
    else:
        for title, body in sections(report):
            out.append(f"<h2>{html.escape(title)}: {len(body)}</h2>")
            items = "".join(f"<li>{html.escape(line)}</li>" for line in body)
            out.append(f"<ul>{items}</ul>" if body else "<p>none</p>")
    return "\n".join([*out, "</body></html>"]) + "\n"


def render_json(report: Report, where: str) -> str:
    window = report.window
    document = {
        "subject": report.subject,
        "from": window.start.isoformat() if window.start else None,
        "to": window.end.isoformat() if window.end else None,
        "source": where,
        "empty": report.empty,
        "unreadable_records": report.unreadable,
        "provisions": [_as_dict(p) for p in report.provisions],
        "blocks": [_as_dict(b) for b in report.blocks],
        "consents": [_as_dict(c) for c in report.consents],
        "requests": [_as_dict(r) for r in report.requests],
        "erasure_notices": [_as_dict(e) for e in report.erasures],
        "unprocessed": [u._asdict() for u in report.unprocessed],
    }
    if report.erasure_states:
        document["erasure_states"] = [_as_dict(s) for s in report.erasure_states]
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _as_dict(item: Any) -> dict[str, Any]:
    fields: dict[str, Any] = item._asdict()
    if "recipient" in fields:
        recipient = fields["recipient"]
        fields["recipient"] = {
            "id": recipient.id,
            "company": recipient.name if recipient.name != "?" else None,
            "country": recipient.country if recipient.country != "?" else None,
        }
    if "items" in fields:
        fields["items"] = list(fields["items"])
    return fields


FORMATS: Final = {"text": render_text, "html": render_html, "json": render_json}
