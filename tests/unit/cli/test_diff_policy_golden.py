"""``purposegate diff-policy`` on the golden input (tests/golden/diff/): the shipped policy against
variants made from it here (so the variants follow the policy file). Text and JSON are golden;
exit 0 only when identical. Regenerate with tests/golden/regenerate.sh (it runs this module
with PURPOSEGATE_REGENERATE=1) and read the diff."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.main import main
from policy.loader import DEFAULT_POLICY

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
INPUT = GOLDEN / "input.jsonl"
Edit = Callable[[dict[str, Any]], None]


def _route(document: dict[str, Any], recipient: str, source: str) -> dict[str, Any]:
    return next(
        r for r in document["routes"] if (r["recipient"], r["source"]) == (recipient, source)
    )


def cargo_without_phone(document: dict[str, Any]) -> None:
    for route in document["routes"]:
        if (route["recipient"], route["purpose"]) == ("septem-cargo", "fulfilment"):
            route["fields"].pop("phone")


def no_mailings_from_campaigns(document: dict[str, Any]) -> None:
    document["routes"].remove(_route(document, "septem-communications", "campaign-entries"))


def financial_gets_phone(document: dict[str, Any]) -> None:
    _route(document, "septem-financial", "orders")["fields"]["phone"] = "keep"


def unchanged(document: dict[str, Any]) -> None:
    """The same policy."""


# (golden name, edit of the new policy, format, expected exit code)
ROWS = {
    # an item withdrawn from one route: lost, for every event that route forwarded
    "cargo-without-phone.text": (cargo_without_phone, "text", 1),
    "cargo-without-phone.json": (cargo_without_phone, "json", 1),
    # a whole route withdrawn: the record itself and each of its items lost
    "no-mailings-from-campaigns.text": (no_mailings_from_campaigns, "text", 1),
    # an item added to a route: gained
    "financial-gets-phone.text": (financial_gets_phone, "text", 1),
    "financial-gets-phone.json": (financial_gets_phone, "json", 1),
    # the same policy: identical, exit 0
    "unchanged.text": (unchanged, "text", 0),
}  # fmt: skip


def variant(directory: Path, edit: Edit) -> Path:
    document = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    edit(document)
    path = directory / "new.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(("name", "edit", "form", "exit_code"),
                         [(n, *row) for n, row in ROWS.items()], ids=ROWS.keys())  # fmt: skip
def test_when_a_policy_changes_then_the_diff_matches_its_golden(
    name: str,
    edit: Edit,
    form: str,
    exit_code: int,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old = tmp_path / "old.yaml"
    old.write_text(DEFAULT_POLICY.read_text(encoding="utf-8"), encoding="utf-8")
    new = variant(tmp_path, edit)
    code = main(["diff-policy", str(old), str(new), "--input", str(INPUT), "--format", form])
    out, err = capsys.readouterr()
    golden = GOLDEN / "diff" / name
    if os.environ.get("PURPOSEGATE_REGENERATE"):
        golden.write_text(out, encoding="utf-8")
    assert (code, err) == (exit_code, "")
    assert out == golden.read_text(encoding="utf-8")
    assert "C0000" not in out  # subjects are counted, never named
