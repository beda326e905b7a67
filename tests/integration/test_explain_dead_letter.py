"""``purposegate explain`` on Kafka for an event the worker dead-lettered (issue 27): it has no
audit record, and explain finds it on the DLQ topic by the event id its raw bytes hold."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config.settings import Settings
from policy import topics
from tests.integration.avro_topics import run_cli
from tests.integration.kafka_io import TopicWatcher, produce_raw

pytestmark = pytest.mark.integration


def test_when_an_event_went_to_the_dlq_then_explain_on_kafka_says_so(
    settings: Settings, start_worker: Any
) -> None:
    worker = start_worker()
    worker.wait_ready()
    raw = json.dumps({"event_id": "ord-dead-letter", "customer_id": "c-9"}).encode()
    dlq = TopicWatcher(settings, [topics.DLQ])
    try:
        produce_raw(settings, [(topics.ORDERS, b"c-9", raw)])  # JSON, not Avro: undecodable
        dlq.wait_for(1, timeout=60)
    finally:
        dlq.close()

    done = run_cli(["explain", "ord-dead-letter"], settings)

    assert done.returncode == 0, done.stderr
    assert "event ord-dead-letter was not decided: it went to the DLQ" in done.stdout
    assert f"from {settings.topic(topics.ORDERS)}" in done.stdout or "from orders" in done.stdout
    assert "c-9" not in done.stdout
