"""Section 6 / contract §3: e-mail addresses, card digits and skin data never go to a group
company. The fields that hold them never leave (``test_engine_properties``); what a person
*types* into a field that may go (questionnaire ``answers``) is inspected before it leaves
(contract revision 3 §3, ``policy.inspection``): the find is replaced in place and the audit's
decision lists it (``content_redactions``), never the value."""

from __future__ import annotations

import json

from policy.engine import decide
from policy.state import EMPTY
from tests.unit.policy.samples import compiled, entry, event

TYPED = "taro.yamada@example.jp"


def test_when_an_email_address_is_typed_into_answers_then_it_does_not_leave() -> None:
    value = entry(kind="questionnaire", answers={"q1": f"write to {TYPED}"})
    decision = decide(event("campaign-entries", value), EMPTY, compiled())
    assert decision.outputs  # the questionnaire goes to research, pseudonymised
    assert all(TYPED not in json.dumps(o.value, default=str) for o in decision.outputs)
    forwarded = [d for d in decision.decisions if d.outcome == "forwarded"]
    assert forwarded
    assert all(("answers{}.value", "email") in d.content_redactions for d in forwarded)
