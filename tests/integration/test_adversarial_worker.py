"""The adversarial properties (``tests.adversarial``) on the real worker and broker: one
generated stream (canaries everywhere, hostile strings, bad countries and times, out-of-range
numbers, interleaved consents and requests) produced in a random interleaving of its topics.
Every shared, audit and DLQ record is read back and checked as the dry run's are; the worker's
log and /metrics hold no canary; once the worker merges by event time, Kafka holds exactly
what the dry run of the same file writes.

Avro input records cannot carry keys their schema lacks, so this stream has none (the dry-run
suite covers them); a line that cannot be encoded (a lone surrogate, invalid UTF-8, a mistyped
time) is sent as its raw bytes and must come out of the DLQ like any undecodable record.
"""

from __future__ import annotations

import json
import random
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings

from bench.workers import PURPOSEGATE, WorkerProcess, free_port
from policy import topics
from policy.loader import load_policy
from tests.adversarial import Stream, streams, tags
from tests.adversarial_checks import (
    EVENT_TIME_ORDER,
    check_counts,
    check_decisions,
    check_shared,
    interleaved,
)
from tests.integration.kafka_io import Received, produce_raw, read_topics
from tests.integration.streams_for_tests import (
    codec,
    compare_with_dry_run,
    create_topics,
    isolated_settings,
    line_order,
    shared_topics,
)
from tests.unit.policy.samples import compiled
from wire import Codec
from wire.input_lines import Prepared, prepare_line, topic_rules
from wire.jsonl import dumps

RULES = topic_rules(load_policy())

pytestmark = pytest.mark.integration


def one_stream() -> Stream:
    """One generated stream (fixed seed: the same stream on every run)."""
    taken: list[Stream] = []

    @seed(13)
    @settings(max_examples=5, phases=[Phase.generate], database=None, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(stream=streams(max_events=60, extras=False, least=60))
    def take(stream: Stream) -> None:
        taken.append(stream)

    take()
    assert len(taken[-1].lines) >= 20, "the fixed seed gave a short stream"
    return taken[-1]


def wire_record(line: bytes, c: Codec) -> tuple[str, bytes | None, bytes]:
    """(topic, key, value): the Avro record of a line through the one door (what ``produce``
    writes), or the raw line when the door refuses it (the worker must then dead-letter it)."""
    prepared = prepare_line(1, line, c, RULES, datetime.now(UTC))
    if isinstance(prepared, Prepared):
        return prepared.topic, prepared.key, prepared.value
    topic = json.loads(line.decode("utf-8", "replace"))["topic"]
    return topic, None, line


def _order_key(line: bytes) -> tuple[int, Any]:
    try:
        return (0, line_order(line.decode("utf-8")))
    except Exception:  # noqa: BLE001 - a line with no valid event_time: anywhere
        return (1, None)


def as_line(record: Received, c: Codec) -> dict[str, Any]:
    """A Kafka record in the dry run's file form (headers kept, for the canary scan)."""
    value = None
    if record.value is not None:
        decoded = c.decode(record.value)
        assert hasattr(decoded, "value"), decoded
        value = json.loads(dumps(decoded.value))
    return {
        "topic": record.topic,
        "key": record.key.decode() if record.key is not None else None,
        "value": value,
        "headers": {k: v.decode("utf-8", "replace") for k, v in record.headers.items()},
    }


def check_unlinkable_timestamps(shared: list[Received]) -> None:
    """A pseudonymised topic's records (tombstones too) carry a Kafka timestamp truncated to
    the day: the send time would otherwise join them to the same event's named records."""
    coarse = {p.topic for p in compiled().all_plans if p.pseudonymised}
    stamps = [r.timestamp_ms for r in shared if r.topic in coarse]
    assert stamps, "the stream fed no pseudonymised topic"
    assert all(ms % 86_400_000 == 0 for ms in stamps), sorted(set(ms % 86_400_000 for ms in stamps))
    named = [r.timestamp_ms for r in shared if r.topic not in coarse]
    # named routes keep the producer's clock (a send at midnight exactly: 1 in 86,400,000)
    at_midnight = sorted(
        {r.topic for r in shared if r.topic not in coarse and not r.timestamp_ms % 86_400_000}
    )
    assert named and not at_midnight, at_midnight


def test_when_an_adversarial_stream_goes_through_the_worker_then_every_promise_holds(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    stream, c = one_stream(), codec()
    settings_ = isolated_settings(kafka_bootstrap, tmp_path)
    order = interleaved(stream, random.Random(5))
    wire = [wire_record(line, c) for _, line in sorted(order, key=lambda x: _order_key(x[1]))]
    create_topics(settings_)
    produce_raw(settings_, wire)  # a backlog, each input in event time
    worker = WorkerProcess.start(settings_, tmp_path, free_port(), {})
    try:
        worker.wait_ready()
        good, bad = len(stream.good_event_ids()), len(stream.bad_line_numbers())
        audit = read_topics(settings_, [topics.AUDIT], until=good, timeout=120)
        dlq = read_topics(settings_, [topics.DLQ], until=bad, timeout=60)
        shared = read_topics(settings_, shared_topics(), idle=3.0)
        page = worker.metrics()
    finally:
        assert worker.stop() == 0
    records: dict[str, list[dict[str, Any]]] = {}
    for record in [*shared, *audit, *dlq]:
        records.setdefault(record.topic, []).append(as_line(record, c))
    check_shared(records, compiled())
    check_unlinkable_timestamps(shared)
    check_counts(records, stream, offsets=False)
    check_decisions(records, stream, compiled())
    log = worker.log_path.read_text(errors="replace")
    assert not tags(log), [x for x in log.splitlines() if "CNRY" in x][:3]
    assert not tags(page)
    if EVENT_TIME_ORDER:  # the worker merges its inputs by event time (branch eventtime)
        source = tmp_path / "dry-input.jsonl"
        source.write_bytes(b"\n".join(line for _, line in order) + b"\n")
        keys = Path(settings_.pseudonym_keys_file or "")
        subprocess.run(
            [str(PURPOSEGATE), "dry-run", "--input", str(source), "--out", str(tmp_path / "dry"),
             "--keys", str(keys)], check=True, capture_output=True,
        )  # fmt: skip
        expected = {
            f.name.removesuffix(".jsonl"): [json.loads(x) for x in f.read_text().splitlines()]
            for f in (tmp_path / "dry").glob("*.jsonl")
        }
        comparison = compare_with_dry_run(settings_, c, expected)
        assert comparison.lost == comparison.unexpected == comparison.duplicated == 0, comparison
