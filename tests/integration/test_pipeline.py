"""The pipeline on the real broker: one engine, two runners; withdrawal; poison; scale-out."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from policy.loader import load_policy
from streams import topics
from streams.avro import Codec, Decoded, SchemaStore
from streams.commands.produce import BadLine, Prepared, prepare
from streams.jsonl import dumps
from streams.settings import Settings
from tests.integration.kafka_io import Received, TopicWatcher, produce_raw, read_topics
from tests.integration.workers import PURPOSEGATE, WorkerProcess, settings_env

pytestmark = pytest.mark.integration

OUTPUT_KINDS = ("value", "tombstone")


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec(SchemaStore.load(load_policy()), wire_format="single-object")


def shared_topics() -> list[str]:
    return sorted({route.topic for route in SchemaStore.load(load_policy()).routes()})


def sample_file(path: Path, seed: int, customers: int, events: int) -> Path:
    subprocess.run(
        [str(PURPOSEGATE), "sample", "--seed", str(seed), "--customers", str(customers),
         "--events", str(events), "--out", str(path)],
        check=True, capture_output=True,
    )  # fmt: skip
    return path


def prepared(path: Path, codec: Codec) -> list[Prepared]:
    records = list(prepare(path.read_text().splitlines(), codec))
    bad = [r for r in records if isinstance(r, BadLine)]
    assert not bad, f"sample lines that do not encode: {bad[:3]}"
    return [r for r in records if isinstance(r, Prepared)]


def dry_run(path: Path, out: Path, keys: Path) -> dict[str, list[dict[str, Any]]]:
    subprocess.run(
        [str(PURPOSEGATE), "dry-run", "--input", str(path), "--out", str(out), "--keys", str(keys)],
        check=True, capture_output=True,
    )  # fmt: skip
    return {
        f.name.removesuffix(".jsonl"): [json.loads(line) for line in f.read_text().splitlines()]
        for f in out.glob("*.jsonl")
    }


def as_file_line(record: Received, codec: Codec) -> dict[str, Any]:
    """A record read from Kafka in the dry-run's file form, to compare like with like."""
    line: dict[str, Any] = {
        "topic": record.topic,
        "key": record.key.decode() if record.key is not None else None,
    }
    if record.value is None:
        line["value"] = None
        line["headers"] = {k: v.decode() for k, v in record.headers.items()}
    else:
        decoded = codec.decode(record.value)
        assert isinstance(decoded, Decoded), decoded
        line["value"] = json.loads(dumps(decoded.value))
    return line


def canonical(lines: list[dict[str, Any]]) -> Counter[str]:
    return Counter(json.dumps(line, sort_keys=True) for line in lines)


def phases(records: list[Prepared]) -> Iterator[list[Prepared]]:
    """Runs of records that may be processed in any order among themselves: a new run starts
    wherever the file switches topic between a state topic and anything else, so that the
    worker sees every consent change exactly where the file puts it (as the dry run does)."""
    run: list[Prepared] = []
    for record in records:
        boundary = (
            run
            and (record.topic in topics.STATE_TOPICS or run[-1].topic in topics.STATE_TOPICS)
            and record.topic != run[-1].topic
        )
        if boundary:
            yield run
            run = []
        run.append(record)
    if run:
        yield run


def test_when_a_sample_stream_runs_through_kafka_then_outputs_and_audit_equal_the_dry_run(
    settings: Settings, start_worker: Any, codec: Codec, tmp_path: Path, pseudonym_keys_file: Path
) -> None:
    source = sample_file(tmp_path / "sample.jsonl", seed=11, customers=12, events=150)
    records = prepared(source, codec)
    expected = dry_run(source, tmp_path / "dry", pseudonym_keys_file)
    worker = start_worker()
    worker.wait_ready()
    audit = TopicWatcher(settings, [topics.AUDIT])
    try:
        produced = 0
        for run in phases(records):
            produced += produce_raw(settings, ((r.topic, r.key, r.value) for r in run))
            audit.wait_for(produced, timeout=60)
            assert len(audit.seen) >= produced, worker.log_tail()
    finally:
        audit.close()
    outputs = shared_topics()
    got = read_topics(settings, [*outputs, topics.AUDIT], idle=2.0)
    got_lines = [as_file_line(r, codec) for r in got]
    want_lines = [line for t in [*outputs, topics.AUDIT] for line in expected.get(t, [])]
    assert len(got_lines) == len(want_lines)
    assert canonical(got_lines) == canonical(want_lines)
    assert read_topics(settings, [topics.DLQ], idle=1.0) == []


def consent(customer: str, event_id: str, scope: str, granted: bool, at: str) -> str:
    value = {"event_id": event_id, "event_time": at, "customer_id": customer,
             "scope": scope, "granted": granted, "source": "web_form"}  # fmt: skip
    return json.dumps({"topic": "consents", "value": value})


def order(customer: str, event_id: str, at: str) -> str:
    value = {
        "event_id": event_id, "event_time": at, "customer_id": customer,
        "order_id": f"o-{event_id}", "status": "placed", "name": "N", "email": "e@example.invalid",
        "phone": "0", "country": "JP", "postal_code": "100-0001", "prefecture": "Tokyo",
        "address": "A", "items": [{"sku": "S", "product_name": "P", "quantity": 1,
                                   "unit_price_jpy": 100}],
        "total_jpy": 100, "payment_method": "bank_transfer", "card_last4": None,
    }  # fmt: skip
    return json.dumps({"topic": "orders", "value": value})


def one(codec: Codec, lines: list[str]) -> list[Prepared]:
    return [r for r in prepare(lines, codec) if isinstance(r, Prepared)]


def test_when_consent_is_withdrawn_then_later_events_are_blocked_and_tombstones_are_sent(
    settings: Settings, start_worker: Any, codec: Codec, tmp_path: Path
) -> None:
    worker = start_worker()
    worker.wait_ready()
    marketing = "shared.septem-communications.marketing"
    audit = TopicWatcher(settings, [topics.AUDIT])
    steps = [
        consent("c-1", "g1", "marketing", True, "2026-11-24T09:00:00Z"),
        order("c-1", "before", "2026-11-24T09:10:00Z"),
        consent("c-1", "w1", "marketing", False, "2026-11-24T09:20:00Z"),
        order("c-1", "after", "2026-11-24T09:30:00Z"),
    ]
    delays: list[float] = []
    try:
        for produced, line in enumerate(steps, start=1):
            started = time.monotonic()
            produce_raw(settings, ((r.topic, r.key, r.value) for r in one(codec, [line])))
            audit.wait_for(produced, timeout=30)
            delays.append(time.monotonic() - started)
    finally:
        audit.close()
    on_marketing = read_topics(settings, [marketing], idle=1.0)
    values = [as_file_line(r, codec) for r in on_marketing]
    forwarded = [v["value"]["event_id"] for v in values if v["value"] is not None]
    tombstones = [v for v in values if v["value"] is None]
    assert forwarded == ["before"]
    assert [t["headers"]["purposegate-erasure-reason"] for t in tombstones] == [
        "consent_withdrawn:marketing"
    ]
    # The tombstone follows the record it erases on the same partition.
    assert [v["value"] is None for v in values] == [False, True]
    after = [as_file_line(r, codec)["value"] for r in audit.seen][-1]
    blocked = {
        (d["recipient"], d["reason"]) for d in after["decisions"] if d["purpose"] == "marketing"
    }
    assert blocked == {("septem-communications", "no_consent")}
    print(f"withdrawal took effect {delays[2] * 1000:.0f} ms after it was produced")
    # The privacy office asks why: `explain` reads the audit topic on Kafka.
    env = {**os.environ, **settings_env(settings)}
    explained = subprocess.run(
        [str(PURPOSEGATE), "explain", "after"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "(SEPTEM Communications Co Ltd, JP) for marketing: BLOCKED (no_consent)" in explained


def test_when_garbage_or_incomplete_records_arrive_then_they_go_to_the_dlq_and_good_ones_flow(
    settings: Settings, start_worker: Any, codec: Codec
) -> None:
    worker = start_worker()
    worker.wait_ready()
    good = one(codec, [order("c-2", "good", "2026-11-24T09:10:00Z")])[0]
    missing = {"event_id": "m1", "event_time": 1, "customer_id": "c-2", "scope": "marketing"}
    poison = [
        # not Avro at all
        (topics.ORDERS, b"c-2", b"garbage-bytes"),
        # a ConsentChange missing fields, framed as a valid-looking single-object record
        (topics.CONSENTS, b"c-2", b"\xc3\x01" + b"\x00" * 8 + json.dumps(missing).encode()),
        # a good record of the wrong kind on a topic
        (topics.INQUIRIES, good.key, good.value),
    ]
    produce_raw(settings, [*poison, (good.topic, good.key, good.value)])
    dead = read_topics(settings, [topics.DLQ], until=len(poison), timeout=60)
    assert len(dead) == len(poison), worker.log_tail()
    letters = [codec.decode(r.value) for r in dead if r.value is not None]
    assert all(isinstance(d, Decoded) for d in letters)
    by_topic = {d.value["source_topic"]: d.value for d in letters if isinstance(d, Decoded)}
    assert by_topic[topics.ORDERS]["raw"] == b"garbage-bytes"
    assert by_topic[topics.ORDERS]["error_kind"] == "unknown_format"
    assert by_topic[topics.CONSENTS]["error_kind"] == "unknown_schema"
    assert by_topic[topics.INQUIRIES]["error_kind"] == "wrong_type"
    assert all(d["error"] and d["offset"] is not None for d in by_topic.values())
    audit = read_topics(settings, [topics.AUDIT], until=1, timeout=60)
    assert [codec.decode(r.value).value["event_id"] for r in audit] == ["good"]  # type: ignore[union-attr]
    assert worker.process.poll() is None


def test_when_one_of_two_workers_is_killed_mid_stream_then_nothing_is_lost_and_consent_holds(
    settings: Settings, start_worker: Any, codec: Codec, tmp_path: Path, pseudonym_keys_file: Path
) -> None:
    source = sample_file(tmp_path / "sample.jsonl", seed=5, customers=60, events=2400)
    records = prepared(source, codec)
    state = [r for r in records if r.topic in topics.STATE_TOPICS]
    events = [r for r in records if r.topic not in topics.STATE_TOPICS]
    # The dry run sees the same order the test produces: all state first, then the events.
    reordered = tmp_path / "reordered.jsonl"
    lines = source.read_text().splitlines()
    reordered.write_text(
        "\n".join([lines[r.line - 1] for r in state] + [lines[r.line - 1] for r in events]) + "\n"
    )
    expected = dry_run(reordered, tmp_path / "dry", pseudonym_keys_file)
    first, second = start_worker(), start_worker()
    first.wait_ready()
    second.wait_ready()
    audit = TopicWatcher(settings, [topics.AUDIT])
    try:
        produce_raw(settings, ((r.topic, r.key, r.value) for r in state))
        audit.wait_for(len(state), timeout=90)
        produce_raw(settings, ((r.topic, r.key, r.value) for r in events))
        audit.wait_for(len(state) + len(events) // 4, timeout=90)
        second.kill()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            audit.poll()
            ids = {a.headers.get("purposegate-event-id") for a in audit.seen}
            if len(ids) >= len(records):
                break
    finally:
        audit.close()
    outputs = shared_topics()
    got = [
        as_file_line(r, codec) for r in read_topics(settings, [*outputs, topics.AUDIT], idle=3.0)
    ]
    want = [line for t in [*outputs, topics.AUDIT] for line in expected.get(t, [])]
    got_counts, want_counts = canonical(got), canonical(want)
    lost = want_counts.keys() - got_counts.keys()
    unexpected = got_counts.keys() - want_counts.keys()
    duplicated = sum(got_counts[k] - want_counts[k] for k in got_counts if k in want_counts)
    print(f"two workers, one SIGKILLed: {len(want)} expected, lost {len(lost)}, "
          f"duplicated {duplicated}, unexpected {len(unexpected)}")  # fmt: skip
    assert not lost, f"{len(lost)} expected records missing\n{first.log_tail()}"
    assert not unexpected, "records the policy would not send"
    assert first.process.poll() is None


def test_when_a_worker_gets_sigterm_then_it_stops_cleanly(start_worker: Any) -> None:
    worker: WorkerProcess = start_worker()
    worker.wait_ready()
    assert worker.stop(timeout=30) == 0
