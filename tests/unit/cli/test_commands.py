"""The policy commands end to end, in process: check-policy, dry-run, explain, sample."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from cli.main import main
from policy.loader import DEFAULT_POLICY

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


def test_when_dry_run_has_no_keys_then_random_keys_for_this_run_and_it_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PURPOSEGATE_PSEUDONYM_KEYS_FILE", str(GOLDEN / "keys.json"))
    pseudonyms = []
    for run in ("one", "two"):
        out = tmp_path / run
        assert main(["dry-run", "--input", str(GOLDEN / "input.jsonl"), "--out", str(out)]) == 0
        assert "random keys for this run only" in capsys.readouterr().err
        lines = (out / "shared.enfinity.product_development.jsonl").read_text().splitlines()
        pseudonyms.append({json.loads(line)["key"] for line in lines})
    golden = (GOLDEN / "expected" / "shared.enfinity.product_development.jsonl").read_text()
    kept = {json.loads(line)["key"] for line in golden.splitlines()}
    # not the keys of the settings, and not the keys of another run
    assert not pseudonyms[0] & pseudonyms[1] and not pseudonyms[0] & kept


def test_when_dry_run_writes_where_an_earlier_run_wrote_then_its_files_are_replaced(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    stale = out / "shared.gone.marketing.jsonl"  # a topic of an older policy
    stale.write_text('{"topic":"shared.gone.marketing","key":"k","value":null}\n')
    (out / "purposegate.dlq.jsonl").write_text("")
    keys = str(GOLDEN / "keys.json")
    assert (
        main(["dry-run", "--input", str(GOLDEN / "input.jsonl"), "--out", str(out), "--keys", keys])
        == 0
    )
    assert not stale.exists()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        p.name for p in (GOLDEN / "expected").iterdir()
    )
