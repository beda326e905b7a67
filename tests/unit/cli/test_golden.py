"""The golden dry-run (tests/golden/): the same input gives the same files, and those files
keep the contract's rules. Regenerate with tests/golden/regenerate.sh after a deliberate change."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from policy.compile import ENVELOPE
from policy.loader import load_policy
from policy.operators import field_output_key

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
EXPECTED = GOLDEN / "expected"
NEVER_SHARED = {"email", "subject", "message", "comment", "card_last4", "skin_concerns"}
IDENTIFYING = {"customer_id", "name", "email", "phone", "address", "postal_code"}


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def allowlists() -> dict[tuple[str, str, str], set[str]]:
    routes: dict[tuple[str, str, str], set[str]] = {}
    for route in load_policy().routes:
        keys = {field_output_key(f, r.op, route.pseudonymised) for f, r in route.fields.items()}
        routes[(route.recipient, route.purpose, route.source)] = {k for k in keys if k} | set(
            ENVELOPE
        )
    return routes


def test_when_golden_input_is_dry_run_then_every_file_matches(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "dry-run",
            "--input", str(GOLDEN / "input.jsonl"),
            "--out", str(out),
            "--keys", str(GOLDEN / "keys.json"),
            "--policy", str(Path(__file__).resolve().parents[3] / "policy" / "policy.yaml"),
        ]
    )  # fmt: skip
    assert code == 0
    expected = sorted(p.name for p in EXPECTED.iterdir())
    assert sorted(p.name for p in out.iterdir()) == expected
    for name in expected:
        got = (out / name).read_text(encoding="utf-8").splitlines()
        want = (EXPECTED / name).read_text(encoding="utf-8").splitlines()
        assert got == want, f"{name} differs; see tests/golden/README.md"


SHARED_FILES = sorted(EXPECTED.glob("shared.*.jsonl"))


@pytest.mark.parametrize("path", SHARED_FILES, ids=lambda p: p.stem)
def test_when_golden_shared_topic_is_read_then_records_keep_the_contract(path: Path) -> None:
    routes = allowlists()
    for line in read(path):
        assert line["topic"] == path.stem
        value = line["value"]
        if value is None:  # a tombstone: a reason, and nothing about the person
            assert line["headers"]["purposegate-erasure-reason"]
            continue
        key = (value["recipient"], value["purpose"], value["source_topic"])
        assert set(value) <= routes[key]
        assert tuple(value)[: len(ENVELOPE)] == ENVELOPE
        assert not NEVER_SHARED & set(value)
        assert "@example" not in json.dumps(value)
        if value["purpose"] == "product_development":
            assert not IDENTIFYING & set(value)
            assert line["key"] == value["subject_pseudonym"]
            assert not line["key"].startswith("C0")


def test_when_golden_audit_is_read_then_one_record_per_valid_event_and_every_forward_sent() -> None:
    audit = [line["value"] for line in read(EXPECTED / "purposegate.audit.jsonl")]
    valid_lines = sum(1 for _ in (GOLDEN / "input.jsonl").open()) - len(
        read(EXPECTED / "purposegate.dlq.jsonl")
    )
    assert len(audit) == valid_lines
    assert len({a["event_id"] for a in audit}) == len(audit)
    forwarded = Counter(
        f"shared.{d['recipient']}.{d['purpose']}"
        for a in audit
        for d in a["decisions"]
        if d["outcome"] == "forwarded"
    )
    for path in SHARED_FILES:
        records = [line for line in read(path) if line["value"] is not None]
        assert len(records) == forwarded[path.stem]


def test_when_golden_dlq_is_read_then_each_entry_has_position_error_and_raw() -> None:
    dead = [line["value"] for line in read(EXPECTED / "purposegate.dlq.jsonl")]
    assert len(dead) == 4
    for record in dead:
        assert record["partition"] is None
        assert isinstance(record["offset"], int)
        assert record["error"] and record["error_kind"] and record["raw"]
        assert "@example" not in record["error"]
