"""The pipeline on the real broker: withdrawal; poison; scale-out; a clean stop. (One engine, two
runners on a sample stream: ``test_event_time.py``.)"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from bench.lines import consent_line, order_line
from bench.workers import PURPOSEGATE, WorkerProcess, settings_env
from config.settings import Settings
from policy import topics
from policy.loader import load_policy
from tests.integration import soak
from tests.integration.kafka_io import TopicWatcher, produce_raw, read_topics, wait_all_committed
from tests.integration.streams_for_tests import (
    as_file_line,
    backlog,
    compare_with_dry_run,
    create_topics,
    dry_run,
    encode_lines,
    sample_lines,
)
from tests.integration.streams_for_tests import (
    codec as build_codec,
)
from wire import Codec, Decoded
from wire.input_lines import Prepared, prepare

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def codec() -> Codec:
    return build_codec()


def one(codec: Codec, lines: list[str]) -> list[Prepared]:
    return [r for r in prepare(lines, codec, load_policy()) if isinstance(r, Prepared)]


def test_when_consent_is_withdrawn_then_later_events_are_blocked_and_tombstones_are_sent(
    settings: Settings, start_worker: Any, codec: Codec, tmp_path: Path
) -> None:
    worker = start_worker()
    worker.wait_ready()
    marketing = "shared.septem-communications.marketing"
    audit = TopicWatcher(settings, [topics.AUDIT])
    steps = [
        consent_line("c-1", "g1", "marketing", True, "2026-11-24T09:00:00Z"),
        order_line("c-1", "before", "2026-11-24T09:10:00Z"),
        consent_line("c-1", "w1", "marketing", False, "2026-11-24T09:20:00Z"),
        order_line("c-1", "after", "2026-11-24T09:30:00Z"),
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
    # The tombstone follows the record it erases on the same partition, with the same key: the
    # recipient's subject id, never the customer id (docs/contract.md §3).
    assert [v["value"] is None for v in values] == [False, True]
    assert values[1]["key"] == values[0]["key"] == values[0]["value"]["subject_id"] != "c-1"
    assert on_marketing[0].partition == on_marketing[1].partition
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


@pytest.mark.parametrize(
    "wire_format",
    [
        None,  # the session's: Confluent with `make test`'s registry (the default)
        "single-object",  # a deployment without a registry
    ],
)
def test_when_garbage_or_incomplete_records_arrive_then_they_go_to_the_dlq_and_good_ones_flow(
    settings: Settings, start_worker: Any, codec: Codec, wire_format: str | None
) -> None:
    env = {"PURPOSEGATE_WIRE_FORMAT": wire_format} if wire_format else {}
    worker = start_worker(**env)
    worker.wait_ready()
    good = one(codec, [order_line("c-2", "good", "2026-11-24T09:10:00Z")])[0]
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
    written = wire_format or settings.wire_format
    magic = b"\xc3\x01" if written == "single-object" else b"\x00"
    assert all(r.value and r.value.startswith(magic) for r in [*dead, *audit])
    assert worker.process.poll() is None


@pytest.mark.parametrize("run", soak.runs())
def test_when_one_of_two_workers_is_killed_mid_stream_then_nothing_is_lost_and_consent_holds(
    settings: Settings,
    start_worker: Any,
    codec: Codec,
    tmp_path: Path,
    pseudonym_keys_file: Path,
    run: int,
) -> None:
    # The stream as a backlog (each input in event time, the inputs interleaved at random):
    # the two workers decide it in event time, as the dry run of the file does.
    lines = sample_lines(tmp_path / "sample.jsonl", seed=5 + run, customers=60, events=2400)
    records = encode_lines(lines, codec)
    expected = dry_run(lines, tmp_path, pseudonym_keys_file)
    create_topics(settings)
    ordered = backlog(lines, records, settings.partitions, seed=5 + run)
    produce_raw(settings, ((r.topic, r.key, r.value) for r in ordered))
    first, second = start_worker(), start_worker()
    audit = TopicWatcher(settings, [topics.AUDIT])
    try:
        first.wait_ready()
        second.wait_ready()
        audit.wait_for(len(records) // 4, timeout=90)
        second.kill()
        # No restart by the test: the survivor takes the dead worker's partitions (after the
        # session timeout and a rebalance) and finishes the stream alone.
        killed, done = time.monotonic(), audit.distinct_event_ids()
        while done < len(records) and time.monotonic() - killed < 240:
            if first.process.poll() is not None:
                break
            done = audit.distinct_event_ids()
        # the survivor reads again what the dead worker had not committed: wait for its sends
        left = wait_all_committed(settings, 120, lambda: first.process.poll() is None)
        finished = time.monotonic() - killed
    finally:
        audit.close()
    comparison = compare_with_dry_run(settings, codec, expected)
    soak.record("kill", run, inputs=len(records), audited=done, lost=comparison.lost,
                duplicated=comparison.duplicated, unexpected=comparison.unexpected,
                seconds_after_kill=round(finished, 1))  # fmt: skip
    print(f"two workers, one SIGKILLed: {comparison}; survivor finished {finished:.0f} s later")
    assert done == len(records), f"survivor stopped at {done}/{len(records)}\n{first.log_tail()}"
    assert left == 0, f"{left} inputs not committed\n{first.log_tail()}"
    assert comparison.lost == 0, f"{comparison}\n{first.log_tail()}"
    assert comparison.unexpected == 0, f"records the policy would not send: {comparison.examples}"
    assert first.process.poll() is None


def test_when_a_worker_gets_sigterm_then_it_stops_cleanly(start_worker: Any) -> None:
    worker: WorkerProcess = start_worker()
    worker.wait_ready()
    assert worker.stop(timeout=30) == 0
