"""Section 5, last item: "for anything other than the above, we will only contact you or send
information if you have given your explicit consent". A use is a Section 5 purpose or nothing:
an event no tagging rule gives a purpose is considered by no route and sends nothing, whatever
consents are on record (a consent scope can name only a purpose or ``cross_border``, so no
consent on the stream can open a use outside the list). The shipped policy tags every event it
accepts; the variant here leaves one inquiry kind untagged, as a new kind added to the input
schema would be until the office tags it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from policy.compile import compile_policy
from policy.engine import decide
from policy.loader import DEFAULT_POLICY, load_policy_text
from policy.state import EMPTY
from policy.step import step
from tests.unit.policy.samples import ALL_SCOPES, TEST_KEYS, consent, event, inquiry, order


def without_question_rule() -> Any:
    document = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    document["tagging"]["inquiries"] = [
        rule for rule in document["tagging"]["inquiries"]
        if "question" not in rule["when"][0]["kind"].get("in", [])
    ]  # fmt: skip
    return compile_policy(load_policy_text(yaml.safe_dump(document), "variant"), TEST_KEYS)


VARIANT = without_question_rule()


def everything_granted() -> Any:
    state = EMPTY
    for scope in ALL_SCOPES:
        state, _ = step(event("consents", consent(scope, True)), state, VARIANT)
    return state


@pytest.mark.parametrize(
    ("value", "state"),
    [
        # no consent at all
        (inquiry(kind="question"), EMPTY),
        # every consent a customer can give, cross-border too: still nothing
        (inquiry(kind="question"), everything_granted()),
    ],
)
def test_when_an_event_gets_no_section5_purpose_then_no_route_considers_it(
    value: dict[str, Any], state: Any
) -> None:
    decision = decide(event("inquiries", value), state, VARIANT)
    assert (decision.purposes, decision.decisions, decision.outputs) == ((), (), ())


def test_when_the_same_customer_orders_then_the_variant_still_routes_tagged_events() -> None:
    # the variant is the shipped policy but for the one rule: tagged events go as before
    decision = decide(event("orders", order()), EMPTY, VARIANT)
    assert "fulfilment" in decision.purposes and decision.outputs
