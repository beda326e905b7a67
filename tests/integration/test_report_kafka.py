"""``purposegate report`` against the real broker: the worker decides two customers who share an
audit partition and one who does not; the report of one of them reads only its partition (the
one the worker's producer chose) and shows its provisions, blocks, consents and erasure notices,
and nothing of the others."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.lines import consent_line, order_line
from broker.partitions import partition_for
from config.settings import Settings
from policy import topics
from tests.integration.avro_topics import run_cli
from tests.integration.kafka_io import TopicWatcher, produce_raw
from tests.integration.streams_for_tests import codec, encode_lines

pytestmark = pytest.mark.integration

# c-2 and c-4 share audit partition 4 of 6; c-1 is on partition 5.
SUBJECT, NEIGHBOUR, ELSEWHERE = "c-2", "c-4", "c-1"
LINES = [
    consent_line(SUBJECT, "con-grant", "marketing", True, "2026-11-24T09:00:00Z"),
    order_line(SUBJECT, "ord-marketed", "2026-11-24T09:10:00Z"),
    consent_line(SUBJECT, "con-withdraw", "marketing", False, "2026-11-24T09:20:00Z"),
    order_line(SUBJECT, "ord-blocked", "2026-11-24T09:30:00Z"),
    consent_line(NEIGHBOUR, "con-neighbour", "marketing", True, "2026-11-24T09:00:00Z"),
    order_line(NEIGHBOUR, "ord-neighbour", "2026-11-24T09:15:00Z"),
    order_line(ELSEWHERE, "ord-elsewhere", "2026-11-24T09:15:00Z"),
]


def decide(settings: Settings, start_worker: Any) -> None:
    worker = start_worker()
    worker.wait_ready()
    records = encode_lines(LINES, codec())
    audit = TopicWatcher(settings, [topics.AUDIT])
    try:
        produce_raw(settings, [(r.topic, r.key, r.value) for r in records])
        audit.wait_for(len(LINES), timeout=90)
        assert len(audit.seen) == len(LINES), worker.log_tail()
        by_key = {r.key: r.partition for r in audit.seen}
        assert by_key[SUBJECT.encode()] == partition_for(SUBJECT.encode(), settings.partitions)
    finally:
        audit.close()


def test_when_a_subject_is_reported_from_kafka_then_only_their_partition_and_records(
    settings: Settings, start_worker: Any
) -> None:
    assert (
        partition_for(SUBJECT.encode(), settings.partitions)
        == partition_for(NEIGHBOUR.encode(), settings.partitions)
        != partition_for(ELSEWHERE.encode(), settings.partitions)
    )
    decide(settings, start_worker)

    done = run_cli(["report", SUBJECT, "--format", "json"], settings)

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    partition = partition_for(SUBJECT.encode(), settings.partitions)
    assert report["source"] == f"topic {settings.topic(topics.AUDIT)}, partition {partition}"
    provided = {(p["event_id"], p["recipient"]["id"], p["purpose"]) for p in report["provisions"]}
    assert ("ord-marketed", "septem-communications", "marketing") in provided
    blocked = {(b["event_id"], b["purpose"], b["reason"]) for b in report["blocks"]}
    assert ("ord-blocked", "marketing", "no_consent") in blocked
    assert [(c["event_id"], c["change"]) for c in report["consents"]] == [
        ("con-grant", "granted"),
        ("con-withdraw", "withdrawn"),
    ]
    erasures = {(e["recipient"]["company"], e["reason"]) for e in report["erasure_notices"]}
    assert (
        "SEPTEM Communications Co Ltd",
        "consent_withdrawal:marketing".replace("withdrawal", "withdrawn"),
    ) in erasures
    assert "neighbour" not in done.stdout and "elsewhere" not in done.stdout
    assert NEIGHBOUR not in done.stdout and ELSEWHERE not in done.stdout.replace(SUBJECT, "")

    # an id no audit record names: refused, never a reassuring empty report
    nobody = run_cli(["report", "c-unknown"], settings)
    assert (nobody.returncode, nobody.stdout) == (2, "")
    assert "no audit record names this id; check it" in nobody.stderr
