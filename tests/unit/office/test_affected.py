"""``purposegate affected`` agrees with a brute-force count over the same audit, for random audits,
windows and recipients (Hypothesis), read from a file the way a ``dump`` writes it; and the
table rows of what counts as sent."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.affected import FileWindow
from cli.main import main
from office.affected import Window, affected
from office.affected_render import render_csv, render_json
from wire.jsonvalues import format_timestamp

START = datetime(2026, 1, 1, tzinfo=UTC)
RECIPIENTS = ["septem-cargo", "septem-financial", "affectus"]
PURPOSES = ["fulfilment", "marketing"]
FIELDS = ["name", "phone", "address", "order_id"]

decisions = st.lists(
    st.fixed_dictionaries(
        {
            "recipient": st.sampled_from(RECIPIENTS),
            "purpose": st.sampled_from(PURPOSES),
            "outcome": st.sampled_from(["forwarded", "blocked"]),
            "fields_sent": st.lists(st.sampled_from(FIELDS), unique=True),
        }
    ),
    max_size=3,
)
# (seconds after START it was sent, customer, event number, decisions); an event number may
# repeat: the worker decided it again after a restart
records = st.lists(
    st.tuples(
        st.integers(0, 3600), st.sampled_from(["C1", "C2", "C3", "C4"]), st.integers(0, 30),
        decisions,
    ),
    min_size=1,
    max_size=40,
)  # fmt: skip


def dump_lines(generated: list[tuple[int, str, int, list[dict[str, Any]]]]) -> str:
    lines = []
    for seconds, customer, number, decided in generated:
        value = {
            "event_id": f"e-{number}", "event_time": format_timestamp(START),
            "customer_id": customer, "policy_version": "v", "decisions": decided,
        }  # fmt: skip
        at = format_timestamp(START + timedelta(seconds=seconds))
        lines.append(json.dumps({"topic": "purposegate.audit", "timestamp": at, "key": customer,
                                 "value": value}))  # fmt: skip
    return "".join(f"{line}\n" for line in lines)


def brute_force(
    generated: list[tuple[int, str, int, list[dict[str, Any]]]], recipient: str, lo: int, hi: int
) -> dict[str, Any]:
    per: dict[str, dict[str, set[str]]] = {}
    for seconds, customer, number, decided in generated:
        for d in decided:
            if lo <= seconds < hi and d["recipient"] == recipient and d["outcome"] == "forwarded":
                tally = per.setdefault(d["purpose"], {"events": set(), "subjects": set(),
                                                      "items": set()})  # fmt: skip
                tally["events"].add(f"e-{number}")
                tally["subjects"].add(customer)
                tally["items"].update(d["fields_sent"])
    return {
        "subjects": len(set().union(*(t["subjects"] for t in per.values()))),
        "records": sum(len(t["events"]) for t in per.values()),
        "purposes": {p: {"subjects": len(t["subjects"]), "records": len(t["events"]),
                         "items": sorted(t["items"])} for p, t in sorted(per.items())},
    }  # fmt: skip


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records, st.sampled_from(RECIPIENTS), st.integers(0, 3600), st.integers(1, 3600))
def test_when_any_audit_and_window_then_affected_agrees_with_a_brute_force_count(
    generated: list[tuple[int, str, int, list[dict[str, Any]]]],
    recipient: str,
    lo: int,
    length: int,
) -> None:
    hi = lo + length
    window = Window(START + timedelta(seconds=lo), START + timedelta(seconds=hi))
    with tempfile.TemporaryDirectory() as directory:
        # the command's own file reader, as `affected --audit FILE` runs it
        audit = Path(directory) / "audit.jsonl"
        audit.write_text(dump_lines(generated), encoding="utf-8")
        sized = affected(FileWindow(audit, recipient).values(), recipient, window)
    found = json.loads(render_json(sized, "a file"))
    listed = render_csv(sized, "a file").splitlines()[1:]
    expected = brute_force(generated, recipient, lo, hi)
    assert {k: found[k] for k in ("subjects", "records", "purposes")} == expected
    assert len(listed) == expected["subjects"]


def test_when_the_command_runs_on_a_file_then_it_prints_what_the_functions_give(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generated = [(10, "C1", 1, [decided("forwarded", recipient="septem-cargo")])]
    audit = tmp_path / "audit.jsonl"
    audit.write_text(dump_lines(generated), encoding="utf-8")
    window = ["--from", format_timestamp(START), "--to", format_timestamp(START + timedelta(1))]
    code = main(["affected", "--recipient", "septem-cargo", *window, "--audit", str(audit),
                 "--format", "csv"])  # fmt: skip
    assert (code, capsys.readouterr().out) == (0, "customer_id\nC1\n")


AT = START + timedelta(minutes=5)
WINDOW = Window(START, START + timedelta(hours=1))


def decided(outcome: str, recipient: str = "r", **extra: Any) -> dict[str, Any]:
    return {"recipient": recipient, "purpose": "p", "outcome": outcome, "fields_sent": ["name"],
            **extra}  # fmt: skip


@pytest.mark.parametrize(
    ("when", "decision", "records", "ids"),
    [
        # a forwarded decision in the window: one record of one subject
        (AT, decided("forwarded"), 1, {"C1": set()}),
        # a blocked decision sent nothing
        (AT, decided("blocked"), 0, {}),
        # another recipient's provision is not this one's breach
        (AT, decided("forwarded", recipient="other"), 0, {}),
        # sent at the window's end: outside (the end is exclusive)
        (WINDOW.end, decided("forwarded"), 0, {}),
        # the audit names the id the recipient got: listed beside the customer id
        (AT, decided("forwarded", subject_id="s-abc"), 1, {"C1": {"s-abc"}}),
    ],
)
def test_when_a_decision_is_counted_then_only_what_went_to_the_recipient_in_the_window(
    when: datetime, decision: dict[str, Any], records: int, ids: dict[str, set[str]]
) -> None:
    value = {"event_id": "e1", "customer_id": "C1", "decisions": [decision]}
    found = affected([(when, value)], "r", WINDOW)
    assert (found.records, found.subjects) == (records, ids)


def test_when_the_audit_names_subject_ids_then_the_mailing_lists_them_beside_customer_ids() -> None:
    values = [
        {
            "event_id": "e1",
            "customer_id": "C2",
            "decisions": [decided("forwarded", subject_id="s-2")],
        },
        # a record written before the audit named ids: the customer is listed with an empty id
        {"event_id": "e2", "customer_id": "C1", "decisions": [decided("forwarded")]},
    ]
    found = affected([(AT, v) for v in values], "r", WINDOW)
    assert render_csv(found, "x") == "customer_id,subject_id\nC1,\nC2,s-2\n"
