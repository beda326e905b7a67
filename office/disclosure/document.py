"""The disclosure report's text and HTML documents (``purposegate report --format text|html
--lang en|ja``): the :class:`~office.disclosure.letter.Document` laid out. Pure.

Every string is treated as hostile: in both forms control, invisible and bidirectional
characters are shown as ``\\u....`` (``render.safe``); HTML escapes every value. The
HTML is a document to print or send: its own stylesheet, a print stylesheet (A4, no colours,
sections not split across pages), the sender's block, the summary, then the details.
"""

from __future__ import annotations

import html
from typing import Final

from office.disclosure.i18n import catalogue
from office.disclosure.letter import Document, Letter, document
from office.disclosure.render import erasure_sections, safe
from office.disclosure.report import Report

STYLE: Final = """
body { font-family: "Hiragino Sans", "Noto Sans JP", "Helvetica Neue", Arial, sans-serif;
       max-width: 46em; margin: 2em auto; padding: 0 1em; line-height: 1.6; color: #222; }
header { display: flex; justify-content: space-between; gap: 2em;
         border-bottom: 2px solid #333; padding-bottom: 1em; }
header ul, .sender { list-style: none; padding: 0; margin: 0; }
.sender { text-align: right; font-size: 0.9em; }
h1 { font-size: 1.5em; margin: 1em 0 0.5em; }
h2 { font-size: 1.2em; border-bottom: 1px solid #999; margin-top: 2em; }
h3 { font-size: 1em; margin: 1.2em 0 0.3em; }
.note { background: #f4f4f4; border-left: 4px solid #666; padding: 0.5em 1em; }
.details li { margin-bottom: 0.4em; }
@media print {
  @page { size: A4; margin: 18mm; }
  body { max-width: none; margin: 0; font-size: 10.5pt; color: #000; }
  .note { background: none; border: 1px solid #000; }
  section, li { break-inside: avoid; }
  h2 { break-after: avoid; }
}
""".strip()


def render_text(report: Report, letter: Letter) -> str:
    doc = document(report, letter)
    none = catalogue(letter.lang).gettext("none")
    lines = [doc.title, "", *doc.about]
    if doc.sender:
        lines += ["", *doc.sender]
    for note in doc.notes:
        lines += ["", note]
    if doc.summary:
        lines += ["", doc.summary_title]
        for company, said in doc.summary:
            lines += ["", f"  {company}", *(f"    {line}" for line in said)]
    if not report.empty:
        lines += ["", doc.details_title]
        for title, entries in [*doc.details, *erasure_sections(report)]:
            lines += ["", f"{title}: {len(entries)}", *(f"  {e}" for e in entries or [none])]
    return "\n".join(safe(line) for line in lines) + "\n"


def _e(text: str) -> str:
    return html.escape(safe(text))


def render_html(report: Report, letter: Letter) -> str:
    doc = document(report, letter)
    out = [
        f'<!DOCTYPE html>\n<html lang="{letter.lang}"><head><meta charset="utf-8">',
        f"<title>{_e(doc.title)}</title>",
        f"<style>\n{STYLE}\n</style></head><body>",
        *_header(doc),
        f"<h1>{_e(doc.title)}</h1>",
        *(f'<p class="note">{_e(note)}</p>' for note in doc.notes),
        *_summary(doc),
    ]
    if not report.empty:
        out += _details(doc, catalogue(letter.lang).gettext("none"), erasure_sections(report))
    return "\n".join([*out, "</body></html>"]) + "\n"


def _header(doc: Document) -> list[str]:
    about = "".join(f"<li>{_e(line)}</li>" for line in doc.about)
    sender = "".join(f"<li>{_e(line)}</li>" for line in doc.sender)
    return [f'<header><ul class="about">{about}</ul><ul class="sender">{sender}</ul></header>']


def _summary(doc: Document) -> list[str]:
    if not doc.summary:
        return []
    out = [f'<section class="summary"><h2>{_e(doc.summary_title)}</h2>']
    for company, said in doc.summary:
        items = "".join(f"<li>{_e(line)}</li>" for line in said)
        out.append(f"<h3>{_e(company)}</h3><ul>{items}</ul>")
    return [*out, "</section>"]


def _details(doc: Document, none: str, more: list[tuple[str, list[str]]]) -> list[str]:
    out = [f'<section class="details"><h2>{_e(doc.details_title)}</h2>']
    for title, entries in [*doc.details, *more]:
        out.append(f"<h3>{_e(title)}: {len(entries)}</h3>")
        items = "".join(f"<li>{_e(e)}</li>" for e in entries)
        out.append(f"<ul>{items}</ul>" if entries else f"<p>{_e(none)}</p>")
    return [*out, "</section>"]
