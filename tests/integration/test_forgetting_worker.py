"""The worker forgets a subject on the real broker (docs/pipeline.md, "Forgetting"): the table
key gets a tombstone on the changelog after the partition's horizon, a late grant older than the
forgotten withdrawal is refused, and the next order stays blocked for marketing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kafka import TopicPartition

from agents.consent_table import HORIZON_KEY
from bench.lines import consent_line, order_line
from broker.clients import consumer
from config.settings import Settings
from policy import topics
from policy.loader import load_policy
from tests.integration.kafka_io import TopicWatcher, produce_raw
from wire import Codec, SchemaStore
from wire.input_lines import Prepared, prepare
from wire.topic_schemas import wire_schemas

pytestmark = pytest.mark.integration

SUBJECT = "c-forget"


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def question_line(event_id: str, at: datetime) -> str:
    value = {
        "event_id": event_id, "event_time": iso(at), "customer_id": SUBJECT,
        "inquiry_id": f"i-{event_id}", "kind": "question", "name": "N",
        "email": "e@example.invalid", "phone": "0", "related_order_id": None, "subject": "s",
        "message": "m", "skin_concerns": None,
    }  # fmt: skip
    return json.dumps({"topic": topics.INQUIRIES, "value": value})


def changelog(settings: Settings) -> list[tuple[bytes, bytes | None]]:
    client = consumer(settings, consumer_timeout_ms=2000)
    try:
        name = f"{settings.app_id}-consent-state-changelog"
        parts = [TopicPartition(name, p) for p in client.partitions_for_topic(name) or set()]
        client.assign(parts)
        client.seek_to_beginning(*parts)
        return [(record.key, record.value) for record in client]
    finally:
        client.close()


def test_when_a_subject_is_forgotten_then_its_key_is_tombstoned_and_a_late_grant_refused(
    settings: Settings, start_worker: Any
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    lines = [  # one at a time, in this arrival order: the late grant arrives after the forgetting
        consent_line(SUBJECT, "con-grant", "marketing", True, iso(now - timedelta(days=60))),
        consent_line(SUBJECT, "con-withdraw", "marketing", False, iso(now - timedelta(days=50))),
        question_line("inq-forgets", now - timedelta(days=10)),
        consent_line(SUBJECT, "con-late", "marketing", True, iso(now - timedelta(days=55))),
        order_line(SUBJECT, "ord-after", iso(now - timedelta(days=5))),
    ]
    worker = start_worker()
    worker.wait_ready()
    store = SchemaStore.load()
    codec = Codec(store, settings)
    codec.bind_topics(wire_schemas(load_policy(), store), settings.topic)
    prepared = list(prepare(lines, codec, load_policy()))
    records = [r for r in prepared if isinstance(r, Prepared)]
    assert len(records) == len(lines), prepared
    audit = TopicWatcher(settings, [topics.AUDIT, topics.DLQ])  # a DLQ record would show here
    try:
        for record in records:
            produce_raw(settings, [(record.topic, record.key, record.value)])
            audit.wait_for(len(audit.seen) + 1, timeout=60)
        assert len(audit.seen) == len(lines), [codec.decode(r.value) for r in audit.seen]
        decided = {}
        for received in audit.seen:
            value = codec.decode(received.value).value  # type: ignore[union-attr]
            decided[value["event_id"]] = value
    finally:
        audit.close()
    assert decided["con-late"]["state_change"].startswith("consent marketing granted: refused")
    (mail,) = [d for d in decided["ord-after"]["decisions"] if d["purpose"] == "marketing"]
    assert mail["reason"] == "no_consent"
    writes = changelog(settings)
    subject = [value for key, value in writes if key == SUBJECT.encode()]
    horizon_prefix = HORIZON_KEY.split(b"%d")[0]
    horizons = [key for key, value in writes if key.startswith(horizon_prefix) and value]
    # written by the grant and the withdrawal, deleted after the question, back with the order
    assert [value is None for value in subject][:3] == [False, False, True], subject
    assert len(horizons) == 1, writes
