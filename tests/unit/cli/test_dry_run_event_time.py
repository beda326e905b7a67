"""``dry-run`` decides in event-time order, whatever the order of the file (docs/contract.md §2):
valid lines sorted by ``event_time``, the contract's tie rank, then line number; the DLQ keeps
the file's order."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from tests.unit.policy.samples import T0, consent, order, request
from wire.jsonl import dumps

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
KEYS = GOLDEN / "keys.json"


def dry_run(lines: list[str], tmp_path: Path, name: str) -> dict[str, list[str]]:
    source = tmp_path / f"{name}.jsonl"
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / name
    assert main(["dry-run", "--input", str(source), "--out", str(out), "--keys", str(KEYS)]) == 0
    return {f.name: f.read_text().splitlines() for f in sorted(out.glob("*.jsonl"))}


def line(topic: str, value: dict[str, Any]) -> str:
    return dumps({"topic": topic, "value": value})


def event_time(text: str) -> str:
    """The line's event_time, or "" for a line that is not a valid record."""
    try:
        value = json.loads(text).get("value")
    except ValueError:
        return ""
    return str(value.get("event_time", "")) if isinstance(value, dict) else ""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_when_the_file_is_shuffled_then_every_output_is_that_of_the_sorted_file(
    seed: int, tmp_path: Path
) -> None:
    lines = [x for x in (GOLDEN / "input.jsonl").read_text().splitlines() if event_time(x)]
    ordered = sorted(lines, key=event_time)  # the golden sample has no equal event_times
    shuffled = list(lines)
    random.Random(seed).shuffle(shuffled)
    got, want = dry_run(shuffled, tmp_path, "shuffled"), dry_run(ordered, tmp_path, "ordered")
    # dead letters name their line numbers, which the shuffle changes
    assert len(got.pop("purposegate.dlq.jsonl")) == len(want.pop("purposegate.dlq.jsonl"))
    assert got == want


AT = T0 + timedelta(minutes=5)
TIES = [
    # a grant at the order's instant counts: state changes come first
    ([line("orders", order(event_time=AT)), line("consents", consent("marketing", True, AT))],
     {"ev-order-1": "forwarded"}),
    # a withdrawal at the order's instant counts too
    ([line("consents", consent("marketing", True, T0)), line("orders", order(event_time=AT)),
      line("consents", consent("marketing", False, AT))],
     {"ev-order-1": "blocked"}),
    # withdrawal and grant at one instant: the withdrawal goes first and the grant loses
    ([line("consents", consent("marketing", True, AT)),
      line("consents", consent("marketing", False, AT))],
     {f"ev-consent-marketing-True-{AT.isoformat()}": "superseded",
      f"ev-consent-marketing-False-{AT.isoformat()}": "recorded"}),
    # suspension and resumption at one instant: the suspension goes first and holds
    ([line("subject-requests", request("resume_use", True, AT)),
      line("subject-requests", request("suspend_use", True, AT))],
     {f"ev-request-resume_use-True-{AT.isoformat()}": "superseded",
      f"ev-request-suspend_use-True-{AT.isoformat()}": "recorded"}),
]  # fmt: skip


@pytest.mark.parametrize(("lines", "outcomes"), TIES)
def test_when_events_share_an_event_time_then_the_contract_tie_rule_orders_them(
    lines: list[str], outcomes: dict[str, str], tmp_path: Path
) -> None:
    for name, order_of_lines in (("as-given", lines), ("reversed", lines[::-1])):
        files = dry_run(order_of_lines, tmp_path, name)
        audit = {
            value["event_id"]: value
            for value in (json.loads(x)["value"] for x in files["purposegate.audit.jsonl"])
        }
        for event_id, outcome in outcomes.items():
            value = audit[event_id]
            if value["state_change"]:
                assert outcome in value["state_change"], (name, value["state_change"])
            else:
                marketing = [d for d in value["decisions"] if d["purpose"] == "marketing"]
                assert {d["outcome"] for d in marketing} == {outcome}, name


def test_when_bad_lines_are_mixed_in_then_the_dlq_keeps_the_file_order(tmp_path: Path) -> None:
    lines = [
        line("orders", order(event_time=AT)),
        "not json",
        line("consents", consent("marketing", True, T0)),
        '{"topic": "payments", "value": {}}',
    ]
    files = dry_run(lines, tmp_path, "mixed")
    dead = [json.loads(x)["value"] for x in files["purposegate.dlq.jsonl"]]
    assert [d["offset"] for d in dead] == [2, 4]
    audited = [json.loads(x)["value"]["event_id"] for x in files["purposegate.audit.jsonl"]]
    assert audited == [f"ev-consent-marketing-True-{T0.isoformat()}", "ev-order-1"]
