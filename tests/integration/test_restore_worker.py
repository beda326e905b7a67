"""A worker started on an empty data dir takes the consent table from its changelog with the
bulk restore (broker/restore.py) and decides with it: a grant written by the previous
worker still forwards marketing, a withdrawal still blocks it, and a key deleted on the
changelog (a tombstone) stays deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.lines import consent_line, order_line
from broker.clients import producer
from broker.partitions import partition_for
from config.settings import Settings
from policy import topics
from policy.loader import load_policy
from tests.integration.kafka_io import TopicWatcher, produce_raw
from wire import Codec, SchemaStore
from wire.input_lines import Prepared, prepare
from wire.topic_schemas import wire_schemas

pytestmark = pytest.mark.integration

KEPT, WITHDRAWN, DELETED = "c-kept", "c-withdrawn", "c-deleted"


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def decide(settings: Settings, lines: list[str], audited: int = 0) -> dict[str, Any]:
    """Produce the lines one at a time to the running worker (``audited`` records already on
    the audit topic); every audit record by event id."""
    store = SchemaStore.load()
    codec = Codec(store, settings)
    codec.bind_topics(wire_schemas(load_policy(), store), settings.topic)
    records = [r for r in prepare(lines, codec, load_policy()) if isinstance(r, Prepared)]
    assert len(records) == len(lines)
    audit = TopicWatcher(settings, [topics.AUDIT, topics.DLQ])  # a DLQ record would show here
    try:
        for number, record in enumerate(records, start=audited + 1):
            produce_raw(settings, [(record.topic, record.key, record.value)])
            audit.wait_for(number, timeout=60)
        values = [codec.decode(r.value).value for r in audit.seen]  # type: ignore[union-attr]
    finally:
        audit.close()
    return {value["event_id"]: value for value in values}


def tombstone(settings: Settings, customer: str) -> None:
    """Delete the customer's key on the consent table's changelog (its input partition)."""
    key = customer.encode()
    client = producer(settings)
    try:
        name = f"{settings.app_id}-consent-state-changelog"
        client.send(name, key=key, value=None, partition=partition_for(key, settings.partitions))
        client.flush(timeout=60)
    finally:
        client.close()


def marketing(decided: dict[str, Any], event_id: str) -> str:
    (mail,) = [d for d in decided[event_id]["decisions"] if d["purpose"] == "marketing"]
    reason: str = mail["reason"]
    return reason


def test_when_a_worker_restarts_on_an_empty_data_dir_then_it_decides_with_the_restored_state(
    settings: Settings, start_worker: Any
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    first = start_worker()
    first.wait_ready()
    decide(
        settings,
        [
            consent_line(KEPT, "con-kept", "marketing", True, iso(now - timedelta(days=9))),
            consent_line(WITHDRAWN, "con-w1", "marketing", True, iso(now - timedelta(days=9))),
            consent_line(WITHDRAWN, "con-w2", "marketing", False, iso(now - timedelta(days=8))),
            consent_line(DELETED, "con-del", "marketing", True, iso(now - timedelta(days=9))),
        ],
    )
    first.stop()
    tombstone(settings, DELETED)

    second = start_worker()  # its own web port; the store is in memory: nothing on disk
    second.wait_ready()
    decided = decide(
        settings,
        [
            order_line(c, f"ord-{c}", iso(now - timedelta(days=1)))
            for c in (KEPT, WITHDRAWN, DELETED)
        ],
        audited=4,
    )
    assert "Bulk restore" in second.log_path.read_text(errors="replace"), second.log_tail()
    assert marketing(decided, f"ord-{KEPT}") == "permitted"
    assert marketing(decided, f"ord-{WITHDRAWN}") == "no_consent"
    assert marketing(decided, f"ord-{DELETED}") == "no_consent"


LATE = "c-late"


def test_when_a_worker_restarts_then_a_change_dated_before_what_was_decided_is_still_late(
    settings: Settings, start_worker: Any
) -> None:
    """The stream time survives a restart (issue 23 item 4): the second worker decides a grant
    dated before the order the first one decided as late, as one worker running on would."""
    now = datetime.now(UTC).replace(microsecond=0)
    first = start_worker()
    first.wait_ready()
    before = decide(settings, [order_line(LATE, "ord-late", iso(now - timedelta(days=1)))])
    assert before["ord-late"]["late"] is False
    first.stop()

    second = start_worker()
    second.wait_ready()
    grant = consent_line(LATE, "con-late", "marketing", True, iso(now - timedelta(days=2)))
    decided = decide(settings, [grant], audited=1)
    assert decided["con-late"]["late"] is True, decided["con-late"]["state_change"]
    assert "(late:" in decided["con-late"]["state_change"]
