"""A live stream in which one input family arrives seconds late: the worker cannot wait for
what is not on the broker yet, so it decides on what it has. It must still never forward for a
consent purpose without a grant dated at or before the event, never keep a record of a withdrawn
or suspended subject without its tombstone following, and audit every late case as late."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from policy import topics
from policy.compile import compile_policy
from policy.keys import keys_from_file
from policy.loader import load_policy
from tests.integration.kafka_io import Received, TopicWatcher, read_topics
from tests.integration.live_streams import (
    Truth,
    plans_by_topic,
    produce_live,
    retimed,
    subject_of_key,
)
from tests.integration.streams_for_tests import (
    codec,
    create_topics,
    encode_lines,
    sample_lines,
    shared_topics,
)
from wire import Decoded

pytestmark = pytest.mark.integration

DELAY_S = 3.0
STEP = timedelta(milliseconds=10)

LATE = [
    # consent changes and subject requests produced 3 s after their event time
    pytest.param(topics.STATE_TOPICS, id="state-3s-late"),
    # orders produced 3 s after their event time (the state is on time: newer than them)
    pytest.param((topics.ORDERS,), id="orders-3s-late"),
]


@pytest.mark.parametrize("late", LATE)
def test_when_one_input_arrives_seconds_late_then_consent_holds_as_of_each_event_time(
    late: tuple[str, ...],
    settings: Settings,
    start_worker: Any,
    tmp_path: Path,
    pseudonym_keys_file: Path,
) -> None:
    raw = sample_lines(tmp_path / "sample.jsonl", seed=23, customers=40, events=800)
    start = datetime.now(UTC) + timedelta(seconds=5)
    lines = retimed(raw, start, STEP)
    c = codec()
    records = encode_lines(lines, c)
    create_topics(settings)
    worker = start_worker()
    worker.wait_ready()
    watcher = TopicWatcher(settings, [topics.AUDIT])
    try:
        produce_live(settings, records, lines, late, DELAY_S)
        deadline = time.monotonic() + 120
        while watcher.distinct_event_ids() < len(records) and time.monotonic() < deadline:
            assert worker.process.poll() is None, worker.log_tail()
    finally:
        watcher.close()
    received = read_topics(settings, [*shared_topics(), topics.AUDIT], idle=3.0)
    decoded = {(r.topic, r.partition, r.offset): _value(c, r) for r in received}
    compiled = compile_policy(load_policy(), keys_from_file(pseudonym_keys_file))
    truth = Truth.of(lines)
    shared = [r for r in received if r.topic != topics.AUDIT]
    audits = [r for r in received if r.topic == topics.AUDIT]
    without_grant, unerased, checked = forwarding_faults(shared, decoded, compiled, truth)
    kept = kept_after_erasure(shared, decoded, compiled, truth)
    misjudged, late_counts = late_faults(audits, decoded)
    print(f"{'+'.join(late)} {DELAY_S:.0f} s late: {len(records)} inputs, {checked} forwarded "
          f"records checked, late audits {late_counts}")  # fmt: skip
    assert len({decoded[(r.topic, r.partition, r.offset)]["event_id"] for r in audits}) == len(
        records
    )
    assert without_grant == [], f"forwarded without a grant dated before the event: {without_grant}"
    assert unerased == [], (
        f"forwarded against the state as of the event, no tombstone after: {unerased}"
    )
    assert kept == [], f"withdrawn or suspended subjects still held, no tombstone last: {kept}"
    assert misjudged == [], f"audited late when not, or not late when late: {misjudged[:5]}"
    assert late_counts["state changes"] > 0 if late == topics.STATE_TOPICS else True


def _value(c: Any, record: Received) -> Any:
    if record.value is None:
        return None
    result = c.decode(record.value)
    assert isinstance(result, Decoded)
    return result.value


def forwarding_faults(
    shared: list[Received], decoded: dict[Any, Any], compiled: Any, truth: Truth
) -> tuple[list[str], list[str], int]:
    """Forwarded records (whose event id names an input) checked against the truth as of the
    event: a grant dated at or before it must exist; where the state as of the event forbade
    it (a change that arrived late), a tombstone must follow it on its topic-partition."""
    plans = plans_by_topic(compiled)
    tombstones = {(r.topic, r.partition, r.key): r.offset for r in shared if r.value is None}
    last_tombstone: dict[tuple[str, int, bytes | None], int] = {}
    for where, offset in tombstones.items():
        last_tombstone[where] = max(offset, last_tombstone.get(where, -1))
    without_grant, unerased, checked = [], [], 0
    for record in shared:
        value = decoded[(record.topic, record.partition, record.offset)]
        if value is None or value["event_id"] not in truth.events:
            continue  # a tombstone, or a pseudonymised event id (kept_after_erasure covers it)
        customer, at = truth.events[value["event_id"]]
        plan = next(
            p for p in plans[record.topic]
            if (p.recipient, p.purpose) == (value["recipient"], value["purpose"])
        )  # fmt: skip
        checked += 1
        needs = [plan.purpose] if plan.needs_consent else []
        needs += ["cross_border"] if plan.needs_cross_border else []
        if not all(truth.ever_granted_by(customer, scope, at) for scope in needs):
            without_grant.append(value["event_id"])
        elif not truth.may_forward(plan, customer, at):
            after = last_tombstone.get((record.topic, record.partition, record.key), -1)
            if after < record.offset:
                unerased.append(value["event_id"])
    return without_grant, unerased, checked


def kept_after_erasure(
    shared: list[Received], decoded: dict[Any, Any], compiled: Any, truth: Truth
) -> list[str]:
    """At the end, a subject the stream leaves withdrawn (or suspended) for a topic's purpose has
    a tombstone as the last record of its key there."""
    by_key = subject_of_key(compiled, set(truth.consents) | set(truth.requests) | _all(truth))
    plans = plans_by_topic(compiled)
    last: dict[tuple[str, bytes | None], Received] = {}
    for record in sorted(shared, key=lambda r: r.offset):
        last[(record.topic, record.key)] = record
    end = datetime.max.replace(tzinfo=UTC)
    kept = []
    for (topic, key), record in last.items():
        customer = by_key.get((topic, (key or b"").decode()))
        forbidden = customer is not None and all(
            not truth.may_forward(plan, customer, end) for plan in plans[topic]
        )
        if forbidden and decoded[(record.topic, record.partition, record.offset)] is not None:
            kept.append(f"{topic}:{customer}")
    return kept


def _all(truth: Truth) -> set[str]:
    return {customer for customer, _ in truth.events.values()}


def late_faults(
    audits: list[Received], decoded: dict[Any, Any]
) -> tuple[list[str], dict[str, int]]:
    """Per audit partition (= input partition, in decision order): a state change is late when an
    earlier audit has a later event_time; an event is late when an earlier recorded change of its
    subject is dated after it."""
    misjudged: list[str] = []
    counts = {"state changes": 0, "events": 0}
    for partition in sorted({r.partition for r in audits}):
        stream_time: datetime | None = None
        changes: dict[str, list[datetime]] = {}
        for record in sorted(
            (r for r in audits if r.partition == partition), key=lambda r: r.offset
        ):
            value = decoded[(record.topic, record.partition, record.offset)]
            at, customer = value["event_time"], value["customer_id"]
            if value["state_change"]:
                expected = stream_time is not None and at < stream_time
                if "recorded" in value["state_change"]:
                    changes.setdefault(customer, []).append(at)
                kind = "state changes"
            else:
                expected = any(t > at for t in changes.get(customer, []))
                kind = "events"
            if value.get("late") is not expected:
                misjudged.append(f"{value['event_id']}: late={value.get('late')}")
            counts[kind] += bool(expected)
            stream_time = at if stream_time is None else max(stream_time, at)
    return misjudged, counts
