"""The policy commands end to end, in process: check-policy, dry-run, explain, sample."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from policy.loader import DEFAULT_POLICY
from streams.cli.main import main

GOLDEN = Path(__file__).resolve().parents[2] / "golden"


def test_when_shipped_policy_is_checked_then_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-policy"]) == 0
    assert ": ok (version " in capsys.readouterr().out


def test_when_broken_policy_is_checked_then_exit_nonzero_and_one_line_per_fault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    doc["routes"][0]["fields"] = {**doc["routes"][0]["fields"], "email": "keep", "message": "keep"}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert main(["check-policy", "--policy", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "2 fault(s)"
    assert any("'email' is not a Section 6 shared item" in line for line in lines)
    assert any("'message' is not a field of orders" in line for line in lines)


def test_when_sample_is_written_twice_with_one_seed_then_identical(tmp_path: Path) -> None:
    one, two, other = tmp_path / "one.jsonl", tmp_path / "two.jsonl", tmp_path / "other.jsonl"
    for path, seed in ((one, "5"), (two, "5"), (other, "6")):
        assert main(["sample", "--seed", seed, "--customers", "20", "--out", str(path)]) == 0
    assert one.read_bytes() == two.read_bytes()
    assert one.read_bytes() != other.read_bytes()
    topics = Counter(json.loads(line)["topic"] for line in one.read_text().splitlines())
    assert set(topics) == {
        "orders",
        "inquiries",
        "campaign-entries",
        "consents",
        "subject-requests",
    }
    assert sum(topics.values()) == 200


def test_when_input_has_malformed_lines_then_they_go_to_the_dlq_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    good = (GOLDEN / "input.jsonl").read_text().splitlines()[:5]
    lines = [
        "not json at all",  # not JSON
        '{"topic": "payments", "value": {}}',  # unknown topic
        '["a list"]',  # JSON but not an object
        '{"topic": "orders"}',  # no value
        *good,
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    code = main(
        ["dry-run", "--input", str(source), "--out", str(out), "--keys", str(GOLDEN / "keys.json")]
    )
    assert code == 0
    dead = [
        json.loads(x)["value"] for x in (out / "purposegate.dlq.jsonl").read_text().splitlines()
    ]
    assert [d["error_kind"] for d in dead[:4]] == [
        "not_json",
        "unknown_topic",
        "not_json",
        "missing_field",
    ]
    assert [d["offset"] for d in dead[:4]] == [1, 2, 3, 4]
    audit = (out / "purposegate.audit.jsonl").read_text().splitlines()
    assert len(audit) + len(dead) == len(lines)


def test_when_dry_run_has_no_keys_then_it_fails_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PURPOSEGATE_PSEUDONYM_KEYS_FILE", raising=False)
    monkeypatch.delenv("PURPOSEGATE_PSEUDONYM_KEYS", raising=False)
    code = main(["dry-run", "--input", str(GOLDEN / "input.jsonl"), "--out", str(tmp_path / "out")])
    assert code == 2
    assert "no key for recipient" in capsys.readouterr().err


def first_event(kind: str) -> str:
    for line in (GOLDEN / "expected" / "purposegate.audit.jsonl").read_text().splitlines():
        value = json.loads(line)["value"]
        outcomes = {d["outcome"] for d in value["decisions"]}
        if kind in outcomes or (kind == "state" and value["state_change"]):
            return str(value["event_id"])
    raise AssertionError(kind)


EXPLAINED = [
    # a forwarded route lists each field with its category and operator
    ("forwarded", ["FORWARDED (permitted)", "[contact_email] not a Section 6 shared item"]),
    # a blocked route says why
    ("blocked", ["BLOCKED (", "why: ", "no field went to this recipient"]),
    # a consent or request event shows the state change
    ("state", ["state change: "]),
]


@pytest.mark.parametrize(("kind", "phrases"), EXPLAINED)
def test_when_event_is_explained_then_each_decision_and_field_is_accounted_for(
    kind: str, phrases: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    audit = GOLDEN / "expected" / "purposegate.audit.jsonl"
    assert main(["explain", first_event(kind), "--audit", str(audit)]) == 0
    out = capsys.readouterr().out
    for phrase in phrases:
        assert phrase in out
    assert "@example" not in out


def test_when_explained_event_is_unknown_then_exit_one(capsys: pytest.CaptureFixture[str]) -> None:
    audit = GOLDEN / "expected" / "purposegate.audit.jsonl"
    assert main(["explain", "no-such-event", "--audit", str(audit)]) == 1
