"""A series' value in purposegate's metrics registry."""

from __future__ import annotations

from broker import metrics
from tests.unit.policy import samples as samples


def value_of(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0
