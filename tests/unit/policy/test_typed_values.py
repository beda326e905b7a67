"""Section 6 / contract §3: e-mail addresses, card digits and skin data never go to a group
company. The fields that hold them never leave (``test_engine_properties``); what a person
*types* into a field that may go (questionnaire ``answers``) is another matter: this branch does
not inspect values, so the row in docs/clauses.md says so, and this test states the claim that
content inspection (contract revision 3 §3, ``content_redactions``) makes true."""

from __future__ import annotations

import json

import pytest

from policy.engine import decide
from policy.state import EMPTY
from tests.unit.policy.samples import compiled, entry, event

TYPED = "taro.yamada@example.jp"


@pytest.mark.xfail(strict=True, reason="values typed into free-form fields are not inspected yet")
def test_when_an_email_address_is_typed_into_answers_then_it_does_not_leave() -> None:
    value = entry(kind="questionnaire", answers={"q1": f"write to {TYPED}"})
    decision = decide(event("campaign-entries", value), EMPTY, compiled())
    assert decision.outputs  # the questionnaire goes to research, pseudonymised
    assert all(TYPED not in json.dumps(o.value, default=str) for o in decision.outputs)
