"""Config audit: the topics' settings as the broker holds them, read back after a worker ran.

The privacy office relies on the audit log's retention (three years) and on the consent state
surviving restarts (a compacted changelog); the tables need co-partitioned inputs.
"""

from __future__ import annotations

from typing import Any

import pytest
from kafka.admin import ConfigResource, ConfigResourceType

from broker.clients import admin_client
from config.settings import THREE_YEARS_MS, Settings
from policy import topics

pytestmark = pytest.mark.integration


def topic_configs(settings: Settings, names: list[str]) -> dict[str, dict[str, str]]:
    admin = admin_client(settings)
    try:
        resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in names]
        # kafka-python 3: {"topic": {name: {config: {"value": ..., ...}}}}
        described: dict[str, Any] = admin.describe_configs(resources)
        return {
            name: {key: str(entry["value"]) for key, entry in configs.items()}
            for name, configs in described["topic"].items()
        }
    finally:
        admin.close()


def partition_counts(settings: Settings, names: list[str]) -> dict[str, int]:
    admin = admin_client(settings)
    try:
        return {t["name"]: len(t["partitions"]) for t in admin.describe_topics(names)}
    finally:
        admin.close()


@pytest.fixture
def ran_worker(settings: Settings, start_worker: Any) -> Settings:
    """A worker that started (so it created our topics and Faust its changelog) and stopped."""
    worker = start_worker()
    worker.wait_ready()
    assert worker.stop() == 0
    return settings


@pytest.mark.parametrize(
    ("topic", "key", "value"),
    [
        # Article 29 record of provision: kept three years.
        ("purposegate.audit", "retention.ms", str(THREE_YEARS_MS)),
        # Consent state must outlive restarts: Faust's changelog of the table, compacted.
        ("{app_id}-consent-state-changelog", "cleanup.policy", "compact"),
        # A shared topic's records leave with their segment: deleted, never compacted, and a
        # segment rolls daily, so the retention bounds how long a record stays (erasure bound).
        ("shared.septem-cargo.fulfilment", "cleanup.policy", "delete"),
        ("shared.septem-cargo.fulfilment", "segment.ms", str(24 * 3600 * 1000)),
        ("shared.septem-cargo.fulfilment", "file.delete.delay.ms", "60000"),
        # Where each erasure notice went: one notice and one receipt per topic and key.
        ("purposegate.erasures", "cleanup.policy", "compact,delete"),
    ],
)
def test_when_the_worker_has_run_then_the_broker_holds_the_promised_topic_config(
    ran_worker: Settings, topic: str, key: str, value: str
) -> None:
    settings = ran_worker
    logical = topic.format(app_id=settings.app_id)
    name = logical if logical.startswith(settings.app_id) else settings.topic(logical)
    configs = topic_configs(settings, [name])
    assert configs[name][key] == value, configs[name]


def test_when_the_worker_has_run_then_input_topics_and_changelog_are_co_partitioned(
    ran_worker: Settings,
) -> None:
    settings = ran_worker
    inputs = [settings.topic(t) for t in topics.INPUT_TOPICS]
    changelog = f"{settings.app_id}-consent-state-changelog"
    counts = partition_counts(settings, [*inputs, changelog])
    assert len(set(counts.values())) == 1, counts
    assert counts[changelog] == settings.partitions
