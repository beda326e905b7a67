"""``purposegate_content_redactions_total``: the worker counts content inspection's finds from
the decision, by recipient, purpose and detector, never by value."""

from __future__ import annotations

import pytest

from broker import metrics
from policy.step import step
from tests.unit.broker.series import value_of
from tests.unit.policy import samples


@pytest.mark.parametrize(
    ("answers", "detector", "finds"),
    [
        # an e-mail typed as an answer: one find, labelled by the detector only
        ({"q1": "taro@example.jp"}, "email", 1),
        # a card number as the value and an e-mail as the key of another answer
        ({"q1": "4111 1111 1111 1111", "a@b.jp": "x"}, "card", 1),
        # nothing personal: no series moves
        ({"q1": "b"}, "email", 0),
    ],
)
def test_when_inspection_finds_content_then_the_worker_counts_it_by_detector(
    answers: dict[str, str], detector: str, finds: int
) -> None:
    value = samples.entry(kind="monitor", answers=answers)
    _, decision = step(samples.event("campaign-entries", value), samples.everything_granted(),
                       samples.compiled())  # fmt: skip
    labels = {"recipient": "septem-souken", "purpose": "monitoring_research", "detector": detector}
    before = value_of("purposegate_content_redactions_total", **labels)
    metrics.observe_decision(decision)
    assert value_of("purposegate_content_redactions_total", **labels) == before + finds
