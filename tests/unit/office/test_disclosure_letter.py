"""The disclosure report as a document (``--format text|html --lang en|ja``): the audit fields of
a record of provision (the subject id the recipient got, the basis, the content redactions) and
the subject's DLQ'd inputs are said in words, never a redacted value; dates are JST; every
message the code asks for has its Japanese; the HTML is a document without internal names."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from office.disclosure import words as disclosure_words
from office.disclosure.document import render_html, render_text
from office.disclosure.i18n import LOCALE_DIR, catalogue
from office.disclosure.letter import Letter
from office.disclosure.render import OUTCOMES, PLAIN, REASONS, SOURCES
from office.disclosure.report import Company, Window, build_report, unprocessed
from policy.loader import load_policy
from policy.models import Metadata
from policy.operators import REGISTRY

SECRET = "taro@example.jp"
PROVISION = {
    "recipient": "septem-communications", "purpose": "marketing",
    "topic": "shared.septem-communications.marketing", "outcome": "forwarded",
    "reason": "permitted", "fields_sent": ["subject_id", "name", "answers"],
    "fields_redacted": [], "subject_id": "sid-7f3a",
    "basis": "consent:con-42; cross_border:con-43",
    "content_redactions": [{"path": "answers", "detector": "email"}],
}  # fmt: skip
RECORD = {
    "event_id": "ord-1", "event_time": "2026-03-03T01:05:00Z", "source_topic": "orders",
    "customer_id": "C1", "purposes": ["marketing"], "policy_version": "v1",
    "decisions": [PROVISION], "state_change": None, "tombstone_topics": [], "late": False,
}  # fmt: skip
DEAD = [{"source_topic": "orders", "error_kind": "missing_field", "error": "x",
         "raw": SECRET, "received_time": "2026-03-04T00:00:00Z"}]  # fmt: skip
META = Metadata(controller="SEPTEM Products Co. Ltd.", contact="Desk", address="Nagoya")


def companies(version: str, recipient: str) -> Company:
    return Company(recipient, "SEPTEM Communications Co Ltd", "JP")


def rendered(form: Any, lang: str) -> str:
    report = build_report("C1", [RECORD], Window(), companies)
    report.unprocessed = unprocessed(DEAD)
    first = {"v1": datetime(2026, 3, 1, tzinfo=UTC)}
    letter = Letter(lang, datetime(2026, 4, 1, 3, tzinfo=UTC), "REF-1", META, first)
    text: str = form(report, letter)
    return text


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        # the id the company has, the basis with its consent events, the kind of redaction
        ("en", "The id this company has for you: sid-7f3a."),
        ("en", "Basis: your consent (event con-42), your consent to provision to a company "
               "outside Japan (event con-43)."),
        ("en", "Removed from the content before sending: an e-mail address in answers."),
        ("en", "We could not process 1 of your messages: a required item was missing."),
        # JST for people, and the policy version's first use beside its hash
        ("en", "3 March 2026, 10:05 JST"),
        ("en", "policy v1 in use since 1 March 2026"),
        ("en", "Issued: 1 April 2026"),
        ("ja", "2026年3月3日 10:05 (JST)"),
        ("ja", "送信前に内容から取り除いたもの: アンケートの回答の中のメールアドレス。"),
        ("ja", "メッセージのうち1件を処理できませんでした（必要な項目が欠けていました）"),
        ("ja", "この会社がお客様を識別する番号: sid-7f3a。"),
    ],
)  # fmt: skip
def test_when_a_provision_carries_the_audit_fields_then_the_document_says_them(
    lang: str, expected: str
) -> None:
    assert expected in rendered(render_text, lang)
    assert expected in rendered(render_html, lang)


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("form", [render_text, render_html])
def test_when_a_document_is_rendered_then_no_redacted_value_or_internal_name_shows(
    form: Any, lang: str
) -> None:
    text = rendered(form, lang)
    assert SECRET not in text
    assert "audit file" not in text and ".jsonl" not in text


def test_when_html_is_rendered_then_it_is_a_printable_document_summary_first() -> None:
    page = rendered(render_html, "ja")
    assert '<html lang="ja">' in page and "@media print" in page
    assert page.index("会社ごとの概要") < page.index("詳細")
    assert "SEPTEM Products Co. Ltd." in page and "REF-1" in page


def _strings(node: ast.Call) -> list[str]:
    return [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def _asked_messages() -> tuple[set[str], set[tuple[str, ...]]]:
    """Every literal the document modules pass to gettext (and to ngettext, as pairs), and
    every word of the code tables."""
    singles: set[str] = set()
    plurals: set[tuple[str, ...]] = set()
    for name in ("letter", "words", "document"):
        tree = ast.parse((Path(disclosure_words.__file__).parent / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            called = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if called == "ngettext":
                plurals.add(tuple(_strings(node)))
            elif called in {"gettext", "_"}:
                singles |= set(_strings(node))
    tables = (disclosure_words.BASES, disclosure_words.DETECTORS, disclosure_words.ERROR_KINDS,
              REASONS, SOURCES, OUTCOMES, PLAIN)  # fmt: skip
    for table in tables:
        singles |= set(table.values())
    # every purpose of the shipped policy and every item its routes send, in words
    policy = load_policy()
    singles |= {disclosure_words.words(p.id) for p in policy.purposes}
    for route in policy.routes:
        sent = (REGISTRY[rule.op].output_key(f) for f, rule in route.fields.items())
        singles |= {PLAIN.get(key, disclosure_words.words(key)) for key in sent if key}
    return singles, plurals


def test_when_the_japanese_catalogue_is_loaded_then_every_message_asked_for_is_translated() -> None:
    ja = catalogue("ja")
    singles, plurals = _asked_messages()
    assert sorted(m for m in singles if ja.gettext(m) == m) == []
    assert sorted(p for p in plurals if ja.ngettext(p[0], p[1], 2) == p[1]) == []
    assert len(plurals) >= 4 and (LOCALE_DIR / "ja.po").is_file()
