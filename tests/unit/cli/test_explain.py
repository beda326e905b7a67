"""``purposegate explain``: every decision and field accounted for, under the policy version
that decided it and never another; the refusals (non-audit files) are in test_bad_arguments."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.main import main
from office.explanation import explain
from policy.loader import DEFAULT_POLICY, load_policy

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
AUDIT = GOLDEN / "expected" / "purposegate.audit.jsonl"
KEYS = str(GOLDEN / "keys.json")


def audit_records(path: Path = AUDIT) -> list[dict[str, Any]]:
    return [json.loads(line)["value"] for line in path.read_text().splitlines()]


def first_event(kind: str) -> str:
    for value in audit_records():
        outcomes = {d["outcome"] for d in value["decisions"]}
        if kind in outcomes or (kind == "state" and value["state_change"]):
            return str(value["event_id"])
    raise AssertionError(kind)


def policy_with(tmp_path: Path, name: str, field: str, op: str) -> Path:
    """The shipped policy with one field of septem-cargo's fulfilment route changed."""
    document = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    document["routes"][0]["fields"][field] = op
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def dry_run(tmp_path: Path, policy: Path) -> Path:
    out = tmp_path / "out"
    argv = ["dry-run", "--input", str(GOLDEN / "input.jsonl"), "--out", str(out)]
    assert main([*argv, "--keys", KEYS, "--policy", str(policy)]) == 0
    return out


def cargo_lines(text: str) -> list[str]:
    """The lines of septem-cargo's fulfilment decision in an explanation."""
    start = text.index("septem-cargo (")
    end = text.find("\n\n", start)
    return text[start : end if end > 0 else None].splitlines()


EXPLAINED = [
    # a forwarded route lists each field with its category and operator
    ("forwarded", ["FORWARDED (permitted)", "[contact_email] not a Section 6 shared item"]),
    # and its record of provision: the basis and the subject id that recipient got, and the
    # customer id changed into it
    (
        "forwarded",
        [
            "  basis: contract",
            "  subject id sent: ",
            "pseudonymise: the recipient's subject id (its keyed HMAC), sent as subject_id and "
            "as the record key",
        ],
    ),
    # a blocked route says why
    ("blocked", ["BLOCKED (", "why: ", "no field went to this recipient"]),
    # a consent or request event shows the state change
    ("state", ["state change: "]),
]


@pytest.mark.parametrize(("kind", "phrases"), EXPLAINED)
def test_when_event_is_explained_then_each_decision_and_field_is_accounted_for(
    kind: str, phrases: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", first_event(kind), "--audit", str(AUDIT)]) == 0
    out = capsys.readouterr().out
    for phrase in phrases:
        assert phrase in out
    assert "(the version that decided)" in out
    assert "@example" not in out


def test_when_explained_event_is_unknown_then_exit_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "no-such-event", "--audit", str(AUDIT)]) == 1


def test_when_policy_changed_since_then_the_deciding_version_explains_a_redacted_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    deciding = policy_with(tmp_path, "then.yaml", "phone", "redact")
    out = dry_run(tmp_path, deciding)
    monkeypatch.setenv("PURPOSEGATE_POLICY", str(DEFAULT_POLICY))  # today's: phone is kept
    capsys.readouterr()
    event = first_event("forwarded")
    assert main(["explain", event, "--audit", str(out / "purposegate.audit.jsonl")]) == 0
    phone = next(line for line in cargo_lines(capsys.readouterr().out) if "phone" in line)
    assert "redact" in phone and "sent      [contact_phone] keep" not in phone


@pytest.mark.parametrize(
    "history",
    [
        "a directory of policy files",  # --policy-history DIR, files found by their hash
        "a policies file",  # --policy-history FILE, as dry-run or dump write it
    ],
)
def test_when_the_deciding_version_is_only_in_a_history_then_it_is_found_there(
    history: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deciding = policy_with(tmp_path, "then.yaml", "phone", "redact")
    out = dry_run(tmp_path, deciding)
    audit = tmp_path / "audit-only" / "purposegate.audit.jsonl"
    audit.parent.mkdir()
    shutil.copy(out / "purposegate.audit.jsonl", audit)
    kept = tmp_path / "kept"
    kept.mkdir()
    if history == "a policies file":
        kept = out / "purposegate.policies.jsonl"
    else:
        shutil.copy(deciding, kept / "any-name.yaml")
    monkeypatch.setenv("PURPOSEGATE_POLICY", str(DEFAULT_POLICY))
    event = first_event("forwarded")
    argv = ["explain", event, "--audit", str(audit)]
    assert main(argv) == 1  # not beside the audit file, not in force: not kept
    assert main([*argv, "--policy-history", str(kept)]) == 0


def test_when_the_deciding_version_is_not_kept_then_it_says_so_and_explains_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    deciding = policy_with(tmp_path, "then.yaml", "phone", "redact")
    out = dry_run(tmp_path, deciding)
    (out / "purposegate.policies.jsonl").unlink()
    # an edited copy under the deciding file's name does not stand in for it
    policy_with(tmp_path, "then.yaml", "phone", "keep")
    history = tmp_path / "history"
    history.mkdir()
    shutil.copy(deciding, history)
    version = audit_records(out / "purposegate.audit.jsonl")[0]["policy_version"]
    capsys.readouterr()
    code = main(
        [
            "explain", first_event("forwarded"), "--audit", str(out / "purposegate.audit.jsonl"),
            "--policy-history", str(history),
        ]
    )  # fmt: skip
    stdout, stderr = capsys.readouterr()
    assert code == 1
    assert stdout == ""
    assert f"the policy version that decided it, {version}, is not kept" in stderr
    assert "not explained with another version" in stderr
    assert len(stderr.splitlines()) == 1


def test_when_a_forwarded_route_sent_no_field_then_it_says_the_envelope_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    record = next(r for r in audit_records() if r["event_id"] == first_event("forwarded"))
    decision = next(d for d in record["decisions"] if d["outcome"] == "forwarded")
    record["decisions"] = [{**decision, "fields_sent": [], "fields_redacted": []}]
    text = "\n".join(explain(record, load_policy(DEFAULT_POLICY)))
    assert "forwarded the envelope only" in text
    assert "no field went" in text
    assert "sent      [" not in text


def test_when_asked_to_explain_with_another_version_then_explain_refuses() -> None:
    record = {**audit_records()[0], "policy_version": "0" * 16}
    with pytest.raises(ValueError, match="version that decided"):
        explain(record, load_policy(DEFAULT_POLICY))


def blocked_by_state() -> list[tuple[str, str, str | None]]:
    """(event id, recipient, cause) of every golden block caused by the subject's state."""
    return [
        (r["event_id"], d["recipient"], d["cause_event_id"])
        for r in audit_records()
        for d in r["decisions"]
        if d["reason"] in ("no_consent", "cross_border_consent_missing", "use_suspended")
    ]


def test_when_a_block_is_explained_then_the_consent_or_request_event_behind_it_is_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocks = blocked_by_state()
    named = next(b for b in blocks if b[2] is not None)  # a withdrawal or suspension
    never = next(b for b in blocks if b[2] is None)  # a customer who never consented
    for event_id, recipient, cause in (named, never):
        assert main(["explain", event_id, "--audit", str(AUDIT)]) == 0
        text = capsys.readouterr().out
        block = text[text.index(f"\n{recipient} (") :].split("\n\n")[0]
        expected = f"because of: the consent change {cause}" if cause else "never consented"
        assert expected in block


def test_when_an_audit_record_predates_the_cause_field_then_it_is_not_recorded_not_never(
    tmp_path: Path,
) -> None:
    record = next(r for r in audit_records() if r["event_id"] == blocked_by_state()[0][0])
    for decision in record["decisions"]:
        decision.pop("cause_event_id")
    text = "\n".join(explain(record, load_policy(DEFAULT_POLICY)))
    assert "because of: not recorded" in text
    assert "never consented" not in text


def test_when_inspection_found_personal_data_then_explain_names_where_and_which_detector() -> None:
    policy = load_policy(DEFAULT_POLICY)
    record = next(r for r in audit_records() if r["event_id"] == first_event("forwarded"))
    # the golden input has no typed personal data: a forwarded decision says nothing of finds
    assert "redacted: " not in "\n".join(explain(record, policy))
    decision = next(d for d in record["decisions"] if d["outcome"] == "forwarded")
    finds = [
        {"path": "answers{}.value", "detector": "email"},
        {"path": "gender", "detector": "phone"},
    ]
    record["decisions"] = [{**decision, "content_redactions": finds}]
    text = "\n".join(explain(record, policy))
    assert "redacted: answers{}.value (email), gender (phone)" in text
