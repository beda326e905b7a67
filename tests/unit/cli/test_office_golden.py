"""``ropa``, ``affected`` and ``policies`` against their golden files (tests/golden/office/):
the shipped policy and the golden audit give the same bytes. Regenerate with
tests/golden/regenerate.sh (it runs this module with PURPOSEGATE_REGENERATE=1) and read the diff:
every changed line is a changed statement to the regulator or the office."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from cli.main import main
from policy.loader import DEFAULT_POLICY, policy_version

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
AUDIT = GOLDEN / "expected" / "purposegate.audit.jsonl"
CARGO = [
    "--recipient",
    "septem-cargo",
    "--from",
    "2023-01-01T03:00:00Z",
    "--to",
    "2023-01-01T15:00Z",
]

ROWS = {
    # the record of processing for tools (its Markdown is docs/ropa.md, tests/unit/office)
    "ropa.csv": ["ropa", "--format", "csv"],
    "ropa.json": ["ropa", "--format", "json"],
    # twelve hours of the carrier's records: counts per purpose, then the ids for the mailing
    "affected-cargo.text": ["affected", *CARGO],
    "affected-cargo.csv": ["affected", *CARGO, "--format", "csv"],
    "affected-cargo.json": ["affected", *CARGO, "--format", "json"],
    # a recipient that got nothing in the window: said, not an error
    "affected-affectus-none.text": [
        "affected", "--recipient", "affectus", "--from", "2022-01-01", "--to", "2022-01-02",
    ],
}  # fmt: skip


def _check(name: str, out: str) -> None:
    golden = GOLDEN / "office" / name
    if os.environ.get("PURPOSEGATE_REGENERATE"):
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "argv"), ROWS.items(), ids=ROWS.keys())
def test_when_the_golden_policy_and_audit_are_read_then_output_matches(
    name: str, argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PURPOSEGATE_POLICY", raising=False)
    audit = ["--audit", str(AUDIT)] if argv[0] != "ropa" else []
    code = main([*argv, *audit])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    _check(name, out)


def two_versions(directory: Path) -> tuple[Path, Path]:
    """An audit whose later half was decided by a variant (the carrier loses the phone number),
    and a history directory holding both policies."""
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    for route in document["routes"]:
        if (route["recipient"], route["purpose"]) == ("septem-cargo", "fulfilment"):
            route["fields"].pop("phone")
    history = directory / "history"
    history.mkdir()
    (history / "a.yaml").write_text(text, encoding="utf-8")
    (history / "b.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    newer = policy_version(document)
    lines = AUDIT.read_text(encoding="utf-8").splitlines()
    out = []
    for number, line in enumerate(lines):
        record = json.loads(line)
        if number >= len(lines) // 2:
            record["value"]["policy_version"] = newer
        out.append(json.dumps(record))
    audit = directory / "purposegate.audit.jsonl"
    audit.write_text("\n".join(out) + "\n", encoding="utf-8")
    return audit, history


@pytest.mark.parametrize("form", ["text", "json"])
def test_when_two_versions_decided_then_policies_lists_both_with_the_change(
    form: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PURPOSEGATE_POLICY", raising=False)
    audit, history = two_versions(tmp_path)
    argv = ["policies", "--audit", str(audit), "--policy-history", str(history), "--format", form]
    code = main(argv)
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    _check(f"policies.{form}", out)
