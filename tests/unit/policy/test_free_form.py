"""Free-form values through the engine: redacted in place (or dropped) on every route that
sends them, the audit naming {path, detector} and never the value (docs/contract.md §3, §4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policy.compile import compile_policy
from policy.decision import Decision
from policy.loader import load_policy
from policy.step import step
from tests.unit.policy import samples
from tests.unit.policy.policy_files import route, shipped, write
from wire.jsonl import dumps

SOUKEN = ("septem-souken", "monitoring_research")


def decided(topic: str, value: dict[str, Any], compiled: Any = None) -> Decision:
    _, decision = step(samples.event(topic, value), samples.everything_granted(),
                       compiled or samples.compiled())  # fmt: skip
    return decision


def sent(decision: Decision, recipient: str, purpose: str) -> dict[str, Any]:
    return next(
        o.value for o in decision.outputs if (o.recipient, o.purpose) == (recipient, purpose)
    )


def redactions(decision: Decision, recipient: str, purpose: str) -> tuple[tuple[str, str], ...]:
    return next(
        d.content_redactions
        for d in decision.decisions
        if (d.recipient, d.purpose) == (recipient, purpose)
    )


ANSWERS = [
    # an e-mail typed as an answer's value
    ({"q1": "taro@example.jp"}, {"q1": "[redacted:email]"}, [("answers{}.value", "email")]),
    # an e-mail typed as an answer's key: the key is redacted, the path names no key text
    ({"taro@example.jp": "yes"}, {"[redacted:email]": "yes"}, [("answers{}.key", "email")]),
    # two keys redacted alike: the second gets #2, no answer overwrites another
    (
        {"a@example.jp": "1", "b@example.jp": "2"},
        {"[redacted:email]": "1", "[redacted:email]#2": "2"},
        [("answers{}.key", "email"), ("answers{}.key", "email")],
    ),
    # the subject's own name in full-width latin, and a card in another answer
    (
        {"q1": "Ｔｅｓｔ Ｐｅｒｓｏｎ Ａ", "q2": "4111111111111111"},
        {"q1": "[redacted:subject_value]", "q2": "[redacted:card]"},
        [("answers{}.value", "subject_value"), ("answers{}.value", "card")],
    ),
    # nothing personal: the answers go as they came
    ({"q1": "b", "q2": "c"}, {"q1": "b", "q2": "c"}, []),
]


@pytest.mark.parametrize(("answers", "expected", "found"), ANSWERS)
def test_when_answers_hold_personal_data_then_souken_gets_them_redacted(
    answers: dict[str, str], expected: dict[str, str], found: list[tuple[str, str]]
) -> None:
    decision = decided("campaign-entries", samples.entry(kind="monitor", answers=answers))
    assert sent(decision, *SOUKEN)["answers"] == expected
    assert list(redactions(decision, *SOUKEN)) == found


def test_when_content_is_redacted_then_the_audit_lists_paths_and_never_the_value() -> None:
    answers = {"hanako@example.com": "090-1234-5678"}
    decision = decided("campaign-entries", samples.entry(kind="monitor", answers=answers))
    audit = dumps(decision.audit_record())
    assert "hanako" not in audit and "1234" not in audit
    entry = next(d for d in decision.audit_record()["decisions"] if d["recipient"] == SOUKEN[0])
    assert entry["content_redactions"] == [
        {"path": "answers{}.key", "detector": "email"},
        {"path": "answers{}.value", "detector": "phone"},
    ]


@pytest.mark.parametrize(
    ("field", "text", "route_", "out"),
    [
        # gender is free-form: a phone in it goes redacted to Souken
        ("gender", "090-1234-5678", SOUKEN, "[redacted:phone]"),
        # a region typed with an e-mail: every route that sends it gets it redacted
        (
            "prefecture",
            "NSW a@b.jp",
            ("septem-communications", "marketing"),
            "NSW [redacted:email]",
        ),
        # a contact field (name) with an e-mail in it: e-mail never goes (contact kind)
        (
            "name",
            "Test Person A a@b.jp",
            ("septem-communications", "marketing"),
            "Test Person A [redacted:email]",
        ),  # fmt: skip
        # ... but the name itself is the item: the subject_value detector is not the contact kind's
        ("name", "Test Person A", ("septem-communications", "marketing"), "Test Person A"),
    ],
)
def test_when_a_scalar_field_holds_personal_data_then_it_is_redacted_on_its_routes(
    field: str, text: str, route_: tuple[str, str], out: str
) -> None:
    decision = decided("campaign-entries", samples.entry(kind="monitor", **{field: text}))
    assert sent(decision, *route_)[field] == out


def test_when_the_route_says_drop_then_the_entry_or_value_goes_without_it(tmp_path: Path) -> None:
    doc = shipped()
    route(doc, *SOUKEN, source="campaign-entries")["on_content_hit"] = "drop"
    compiled = compile_policy(load_policy(write(tmp_path, doc)), samples.TEST_KEYS)
    value = samples.entry(kind="monitor", gender="a@b.jp", answers={"q1": "b", "q2": "a@b.jp"})
    decision = decided("campaign-entries", value, compiled)
    out = sent(decision, *SOUKEN)
    assert (out["answers"], out["gender"]) == ({"q1": "b"}, None)
    assert redactions(decision, *SOUKEN) == (("answers{}.value", "email"), ("gender", "email"))


def test_when_a_value_is_inspected_then_the_input_record_is_not_changed() -> None:
    value = samples.entry(kind="monitor", answers={"q1": "a@b.jp"})
    before = json.dumps(value, default=str)
    decided("campaign-entries", value)
    assert json.dumps(value, default=str) == before
