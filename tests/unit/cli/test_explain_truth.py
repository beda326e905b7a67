"""Issue 27, item 4: ``explain`` tells what really went out, for every route kind (every sentence
checked against the golden dry-run's output records), skips and counts corrupt audit lines,
says when an event was dead-lettered, and finds a record by a recipient's own ids (the subject
id its record of provision names, a pseudonymised route's HMAC event id)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from office.explanation import explain
from policy.keys import keys_from_file
from policy.loader import load_policy

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
EXPECTED = GOLDEN / "expected"
AUDIT = EXPECTED / "purposegate.audit.jsonl"
KEYS = GOLDEN / "keys.json"


def outputs() -> dict[tuple[str, str], dict[str, Any]]:
    """Every output record of the golden run by (topic, envelope event id)."""
    found = {}
    for path in EXPECTED.glob("shared.*.jsonl"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record["value"] is not None:
                found[(record["topic"], record["value"]["event_id"])] = record
    return found


def block(text: list[str], recipient: str, purpose: str) -> tuple[dict[str, str], list[str]]:
    """The record of provision (``basis``, ``subject id sent``) and the field lines of one
    recipient's decision in an explanation."""
    start = next(i for i, line in enumerate(text) if line.startswith(f"{recipient} (")
                 and f" for {purpose}: " in line)  # fmt: skip
    provision, lines = {}, []
    for line in text[start + 2 :]:  # after the header and its "why"
        if not line:
            break
        name, _, said = line.strip().partition(": ")
        if name in ("basis", "subject id sent"):
            provision[name] = said
        else:
            lines.append(line)
    return provision, lines


def inputs() -> dict[str, dict[str, Any]]:
    """The golden input values by event id (the audit holds none of them)."""
    found = {}
    for line in (GOLDEN / "input.jsonl").read_text().splitlines():
        try:
            value = json.loads(line).get("value")
        except ValueError:  # the broken lines of the sample
            continue
        if isinstance(value, dict) and isinstance(value.get("event_id"), str):
            found.setdefault(value["event_id"], value)
    return found


def claims(line: str) -> tuple[str, str, str]:
    """``(field, verdict, rest)`` of one field line of an explanation."""
    field, verdict, rest = line.split(maxsplit=2)
    return field, verdict, rest


def test_when_every_forwarded_route_is_explained_then_each_sentence_matches_what_went_out() -> None:
    policy, keys, sent, given = load_policy(), keys_from_file(KEYS), outputs(), inputs()
    checked = 0
    for line in AUDIT.read_text().splitlines():
        value = json.loads(line)["value"]
        text = explain(value, policy)
        for decision in (d for d in value["decisions"] if d["outcome"] == "forwarded"):
            pseudonymised = "subject_pseudonym" in decision["fields_sent"]
            envelope_id = (
                keys.event_id_pseudonymiser(decision["recipient"])(value["event_id"])
                if pseudonymised else value["event_id"]
            )  # fmt: skip
            record = sent[(decision["topic"], envelope_id)]
            provision, field_lines = block(text, decision["recipient"], decision["purpose"])
            # the record of provision names the subject id the record went out keyed by
            assert provision["subject id sent"] == record["key"] == decision["subject_id"]
            assert provision["basis"] == decision["basis"]
            for field_line in field_lines:
                check_sentence(claims(field_line), record, given[value["event_id"]], pseudonymised)
                checked += 1
    assert checked > 100


def check_sentence(
    claim: tuple[str, str, str], record: dict[str, Any], value: dict[str, Any], pseudonymised: bool
) -> None:
    field, verdict, rest = claim
    out = record["value"]
    if field == "event_id":
        assert ("HMAC" in rest) == pseudonymised == (out["event_id"] != value["event_id"])
    elif field == "event_time":
        day = out["event_time"].endswith("T00:00:00Z")
        assert ("the start of its" in rest) == pseudonymised and (not pseudonymised or day)
    elif field == "customer_id":  # keyed by the recipient's subject id (docs/contract.md rev. 3)
        subject_id = out["subject_pseudonym" if pseudonymised else "subject_id"]
        assert record["key"] == subject_id != value["customer_id"]
        kept = "keep" in rest
        assert ("customer_id" in out) == kept and ("subject id" in rest)
        assert not kept or out["customer_id"] == value["customer_id"]
    elif verdict == "WITHHELD" and "redact" in rest:
        assert out[field] is None
    elif verdict == "WITHHELD":
        assert field not in out
    elif "generalise" in rest:
        assert f"{field}_band" in out and field not in out
    elif "as it is" in rest:
        assert out[field] == value[field]
    else:  # kept records rebuilt, masked values: the key goes
        assert field in out


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A copy of the golden dry-run's files, line 11 of the audit cut short (a torn write)."""
    for path in EXPECTED.glob("purposegate.*.jsonl"):
        shutil.copy(path, tmp_path)
    audit = tmp_path / "purposegate.audit.jsonl"
    lines = audit.read_text().splitlines(True)
    lines[10] = lines[10][:40] + "\n"
    audit.write_text("".join(lines))
    return tmp_path


def pseudonymised_ids() -> tuple[str, str]:
    """septem-souken's HMAC event id and subject pseudonym of golden event ord-0000002."""
    record = json.loads(
        (EXPECTED / "shared.septem-souken.product_development.jsonl").read_text().splitlines()[0]
    )
    return record["value"]["event_id"], record["key"]


@pytest.mark.parametrize(
    ("which", "keys", "code", "says"),
    [
        # the event id itself, past a corrupt line: found, the skip counted on stderr
        ("event", False, 0, "event ord-0000002 from orders"),
        # a recipient's HMAC event id, with the keys that made it
        ("hmac", True, 0, "found by septem-souken's HMAC event id"),
        # a recipient's subject pseudonym: every record of that subject to the recipient
        ("pseudonym", True, 0, "found by septem-souken's subject pseudonym"),
        # a named recipient's subject id: the record of provision holds it, no keys needed
        ("subject", False, 0, "found by septem-cargo's subject id"),
        # a recipient's id without the keys: not found, and it says what it needs
        ("hmac", False, 1, "found only with the pseudonym keys that made it: --keys FILE"),
        # an event that went to the DLQ: said, with the reason (fields, never values)
        ("dead", False, 0, "was not decided: it went to the DLQ"),
    ],
)
def test_when_an_event_is_looked_up_then_it_is_found_by_any_of_its_ids(
    which: str,
    keys: bool,
    code: int,
    says: str,
    run_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hmac_id, pseudonym = pseudonymised_ids()
    named = json.loads(
        (EXPECTED / "shared.septem-cargo.fulfilment.jsonl").read_text().splitlines()[0]
    )["key"]
    wanted = {"event": "ord-0000002", "hmac": hmac_id, "pseudonym": pseudonym,
              "subject": named, "dead": "ord-0000006"}[which]  # fmt: skip
    argv = ["explain", wanted, "--audit", str(run_dir / "purposegate.audit.jsonl")]
    assert main([*argv, *(["--keys", str(KEYS)] if keys else [])]) == code
    out, err = capsys.readouterr()
    assert says in out
    assert "skipped 1 corrupt line(s) of the audit file that are not JSON (line 11)" in err
    assert "C0000" not in out  # no customer id
