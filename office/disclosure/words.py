"""The disclosure report's entries in the customer's language: each code (purpose, item,
reason, basis, detector, error kind) in words, and each entry as one catalogue sentence with
named fields. English words are the msgids (``render``'s tables where it has them);
a code with no entry is shown as its words (``order_id`` → ``order id``), never dropped.

>>> purpose("fulfilment", "ja")
'注文の処理・配送・決済'
>>> listed(["a", "b"], "ja")
'a、b'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from office.disclosure.i18n import catalogue, country, day, when
from office.disclosure.render import OUTCOMES, PLAIN, REASONS, SOURCES
from office.disclosure.report import Block, Change, Company, Erasure, Provision, Report, Unprocessed
from wire.jsonvalues import parse_timestamp

BASES: Final[dict[str, str]] = {
    "consent": "your consent",
    "cross_border": "your consent to provision to a company outside Japan",
    "contract": "our contract with you (your order)",
    "application": "your application to the campaign",
    "legal_duty": "our legal duty to answer your complaint or request",
    "membership": "your membership",
    "pseudonymised": "provision of pseudonymised data only",
}
DETECTORS: Final[dict[str, str]] = {
    "email": "an e-mail address",
    "phone": "a telephone number",
    "card": "a payment card number",
    "my_number": "an Individual Number (My Number)",
    "subject_value": "your own name or contact details",
}
ERROR_KINDS: Final[dict[str, str]] = {
    "missing_field": "a required item was missing",
    "bad_type": "an item had the wrong form",
    "wrong_type": "an item had the wrong form",
    "unknown_enum": "an item had a value we do not know",
    "malformed": "the message could not be read",
    "delivery_refused": "a recipient's system would not take it",
}


def _t(lang: str) -> Callable[[str], str]:
    return catalogue(lang).gettext


def listed(names: list[str], lang: str) -> str:
    return ("、" if lang == "ja" else ", ").join(names)


def sentences(parts: list[str], lang: str) -> str:
    """Whole sentences one after the other (Japanese puts no space between them)."""
    return ("" if lang == "ja" else " ").join(parts)


def words(name: str) -> str:
    return name.replace("_", " ")


def item(name: str, lang: str) -> str:
    return _t(lang)(PLAIN.get(name, words(name)))


def purpose(name: str, lang: str) -> str:
    return _t(lang)(words(name))


def company(recipient: Company, lang: str) -> str:
    if recipient.name == "?":
        return _t(lang)("{id} (company not named: its policy version is not kept)").format(
            id=recipient.id
        )
    return f"{recipient.name} ({country(recipient.country, lang)})"


def basis(text: str, lang: str) -> str:
    """The audit's basis (``consent:con-1; cross_border:con-2``, ``contract``) in words."""
    parts = []
    for part in text.split(";"):
        name, _, event = part.strip().partition(":")
        said = _t(lang)(BASES.get(name, words(name)))
        if event and event != "unrecorded":
            said = _t(lang)("{basis} (event {event})").format(basis=said, event=event)
        parts.append(said)
    return listed(parts, lang)


def redactions(found: Iterable[tuple[str, str]], lang: str) -> str:
    return listed(
        [
            _t(lang)("{what} in {where}").format(
                what=_t(lang)(DETECTORS.get(detector, words(detector))), where=item(path, lang)
            )
            for path, detector in found
        ],
        lang,
    )


def _time(text: str, lang: str) -> str:
    parsed = parse_timestamp(text)
    return when(parsed, lang) if parsed else text


def provision_line(p: Provision, lang: str, first_use: Mapping[str, datetime]) -> str:
    _ = _t(lang)
    items = listed([item(i, lang) for i in p.items], lang) or _(
        "no item beyond the record's date and number"
    )
    source = _(SOURCES.get(p.source_topic, words(p.source_topic)))
    fields = {"time": _time(p.time, lang), "company": company(p.recipient, lang)}
    fields |= {"purpose": purpose(p.purpose, lang), "source": source, "items": items}
    said = [_("{time}: to {company} for {purpose}, from {source}: {items}.").format(**fields)]
    if p.basis:
        said.append(_("Basis: {basis}.").format(basis=basis(p.basis, lang)))
    if p.redactions:
        found = redactions(p.redactions, lang)
        said.append(_("Removed from the content before sending: {found}.").format(found=found))
    said.append(_reference(p.event_id, p.policy_version, lang, first_use))
    return sentences(said, lang)


def _reference(event: str, version: str, lang: str, first_use: Mapping[str, datetime]) -> str:
    since = first_use.get(version)
    if since is None:
        return _t(lang)("(event {event}, policy {version})").format(event=event, version=version)
    return _t(lang)("(event {event}, policy {version} in use since {since})").format(
        event=event, version=version, since=day(since, lang)
    )


def block_line(b: Block, lang: str) -> str:
    _ = _t(lang)
    reason = _(REASONS.get(b.reason, words(b.reason)))
    line = _("{time}: not provided to {company} for {purpose}, because {reason}.").format(
        time=_time(b.time, lang),
        company=company(b.recipient, lang),
        purpose=purpose(b.purpose, lang),
        reason=reason,
    )
    return sentences([line, _("(event {event})").format(event=b.event_id)], lang)


def change_line(c: Change, lang: str) -> str:
    _ = _t(lang)
    what = purpose(c.what, lang) if c.what != "cross_border" else item(c.what, lang)
    change = {
        "granted": _("{what}: consent given").format(what=what),
        "withdrawn": _("{what}: consent withdrawn").format(what=what),
    }.get(c.change, _(words(c.what)))
    line = _("{time}: {change}: {outcome}.").format(
        time=_time(c.time, lang), change=change, outcome=_(OUTCOMES[c.outcome])
    )
    said = [line]
    if c.late:
        said.append(_("It arrived after later events were decided; nothing was provided back."))
    return sentences([*said, _("(event {event})").format(event=c.event_id)], lang)


def erasure_line(e: Erasure, lang: str) -> str:
    _ = _t(lang)
    scope, _sep, consent_scope = e.reason.partition(":")
    fields = {"time": _time(e.time, lang), "company": company(e.recipient, lang)}
    fields["purpose"] = purpose(e.purpose, lang)
    if scope == "consent_withdrawn":
        template = "{time}: {company} was told to erase your data held for {purpose}, because you withdrew your consent to {scope}."  # noqa: E501
        fields["scope"] = purpose(consent_scope, lang)
    else:
        template = "{time}: {company} was told to erase your data held for {purpose}, because you asked us to suspend its use."  # noqa: E501
    return sentences(
        [_(template).format(**fields), _("(event {event})").format(event=e.event_id)], lang
    )


def unprocessed_note(found: list[Unprocessed], lang: str) -> str:
    t = catalogue(lang)
    kinds = dict.fromkeys(
        t.gettext(ERROR_KINDS.get(u.error_kind, words(u.error_kind))) for u in found
    )
    return t.ngettext(
        "We could not process {count} of your messages: {reasons}. Nothing of it was provided "
        "to anyone; the privacy office can tell you more.",
        "We could not process {count} of your messages: {reasons}. Nothing of them was provided "
        "to anyone; the privacy office can tell you more.",
        len(found),
    ).format(count=len(found), reasons=listed(list(kinds), lang))


def sections(
    report: Report, lang: str, first_use: Mapping[str, datetime]
) -> list[tuple[str, list[str]]]:
    """The details: section title and entries, in the order both forms show them."""
    _ = _t(lang)
    provided: Any = [provision_line(p, lang, first_use) for p in report.provisions]
    return [
        (_("Provided to group companies (APPI Article 29)"), provided),
        (_("Not provided, and why"), [block_line(b, lang) for b in report.blocks]),
        (_("Your consents"), [change_line(c, lang) for c in report.consents]),
        (
            _("Your requests to suspend or resume use (Section 10)"),
            [change_line(c, lang) for c in report.requests],
        ),
        (
            _("Erasure notices sent to group companies"),
            [erasure_line(e, lang) for e in report.erasures],
        ),
    ]
