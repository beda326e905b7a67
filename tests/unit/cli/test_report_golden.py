"""``purposegate report`` on the golden audit file (tests/golden/report/): the same audit gives the
same report, in text, JSON and HTML. Regenerate with tests/golden/regenerate.sh after a deliberate
change, and read the diff: every changed line is a changed statement to a customer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
AUDIT = GOLDEN / "expected" / "purposegate.audit.jsonl"
WINDOW = ["--from", "2023-01-01T06:00:00Z", "--to", "2023-01-01T12:00:00Z"]
ISSUED = ["--issued", "2026-12-01T09:00:00Z"]

ROWS = {
    # a subject with provisions, blocks, consents, requests and suspension notices
    "C000001.text": ["C000001"],
    "C000001.json": ["C000001", "--format", "json"],
    # a cross-border grant then withdrawal: a notice to the foreign company only
    "C000007.text": ["C000007"],
    "C000007.json": ["C000007", "--format", "json"],
    # the form a customer may be sent: a document, every value escaped
    "C000007.html": ["C000007", "--format", "html"],
    # one of the subject's inputs went to the DLQ: counted, with its reason in words
    "C000008.text": ["C000008"],
    # only the events of six hours
    "C000001-window.text": ["C000001", *WINDOW],
    # in Japanese: dates in JST, the catalogue's sentences, company names as the notice has them
    "C000001.ja.text": ["C000001", "--lang", "ja"],
    "C000001.ja.html": ["C000001", "--lang", "ja", "--format", "html"],
}


@pytest.mark.parametrize(("name", "argv"), ROWS.items(), ids=ROWS.keys())
def test_when_golden_audit_is_reported_then_output_matches(
    name: str, argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PURPOSEGATE_POLICY", raising=False)
    code = main(["report", *argv, *ISSUED, "--audit", str(AUDIT)])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert out == (GOLDEN / "report" / name).read_text(encoding="utf-8")


def test_when_a_subject_is_reported_then_no_other_subject_appears() -> None:
    others = {json.loads(line)["key"] for line in AUDIT.read_text().splitlines()} - {"C000001"}
    for name in ("C000001.text", "C000001.json", "C000001-window.text"):
        text = (GOLDEN / "report" / name).read_text(encoding="utf-8")
        assert not [o for o in others if o in text]
