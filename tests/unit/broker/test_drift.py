"""``purposegate topics --check``'s comparison: one readable line per drift between the topics
the policy wants and the broker's, nothing when they agree."""

from __future__ import annotations

import pytest

from broker.admin import TopicSpec
from broker.drift import BrokerTopic, drift
from config.settings import Settings

DAY = "86400000"
WEEK = "604800000"
SPECS = [
    TopicSpec("orders", 3),
    TopicSpec("shared.septem-cargo.fulfilment", 3, {"retention.ms": WEEK}),
]
AS_WANTED = {
    "orders": BrokerTopic(3, {}),
    "shared.septem-cargo.fulfilment": BrokerTopic(3, {"retention.ms": WEEK}),
}

ROWS = [
    # the broker as the policy wants it: no line
    (AS_WANTED, []),
    # a retention changed by hand on the broker
    (
        {**AS_WANTED, "shared.septem-cargo.fulfilment": BrokerTopic(3, {"retention.ms": DAY})},
        [
            "shared.septem-cargo.fulfilment: retention.ms is 86400000 (1 day) on the broker, "
            "the policy wants 604800000 (7 days)"
        ],
    ),
    # fewer partitions than the policy's count (co-partitioning breaks)
    (
        {**AS_WANTED, "orders": BrokerTopic(1, {})},
        ["orders: 1 partition(s) on the broker, the policy wants 3"],
    ),
    # a topic not created yet
    (
        {"orders": BrokerTopic(3, {})},
        [
            "shared.septem-cargo.fulfilment: missing on the broker (purposegate topics --create "
            "makes it)"
        ],
    ),
    # a shared topic no route writes any more: its records stay until its retention
    (
        {**AS_WANTED, "shared.affectus.marketing": BrokerTopic(3, {"retention.ms": DAY})},
        [
            "shared.affectus.marketing: on the broker but written by no route of the policy "
            "(its records stay until its retention ends)"
        ],
    ),
]


@pytest.mark.parametrize(("broker", "lines"), ROWS)
def test_when_broker_topics_are_compared_then_each_drift_is_one_line(
    broker: dict[str, BrokerTopic], lines: list[str]
) -> None:
    assert drift(Settings.model_construct(), SPECS, broker) == lines


def test_when_a_prefix_is_set_then_only_topics_under_it_are_compared() -> None:
    settings = Settings.model_construct(topic_prefix="t1.")
    broker = {f"t1.{name}": topic for name, topic in AS_WANTED.items()}
    broker["t2.shared.affectus.marketing"] = BrokerTopic(3, {})  # another deployment's topic
    assert drift(settings, SPECS, broker) == []
