"""Poison: 1% of a stream is garbage bytes, wrong record types or unknown enum values. All of
them land in the DLQ with a reason and their raw bytes; good events flow at (nearly) the speed
of a clean run of the same stream, measured side by side in this test.

Throughput is good events over the span of the audit records' create times (stamped by the
worker's producer; the middle 80%), so producing, start-up and the final commit are not measured.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from bench.workers import WorkerProcess, free_port
from config.settings import Settings
from policy import topics
from tests.integration.kafka_io import produce_raw, read_topics
from tests.integration.streams_for_tests import (
    codec,
    create_topics,
    encode_lines,
    isolated_settings,
    sample_lines,
)
from wire import Decoded

pytestmark = pytest.mark.integration

Record = tuple[str, bytes | None, bytes]
ROUNDS = 2
#: This 2-core machine shares its cores with the broker and with other jobs: short runs of the
#: same stream differ by up to ~40% (5k events: 633-1526 events/s seen), long ones by ~10%.
#: The contract's 95% is asserted less that margin; the short variant only catches gross
#: regressions (e.g. a stall per poison record), the slow one holds the line.
EXTRA_NOISE = float(os.environ.get("PURPOSEGATE_THROUGHPUT_NOISE", "0"))


def poison(good: list[Record], count: int, seed: int) -> list[tuple[str, Record]]:
    """``count`` bad records, a third of each kind: (kind, record)."""
    rng = random.Random(seed)
    c = codec()
    orders = [r for r in good if r[0] == topics.ORDERS]
    inquiries = [r for r in good if r[0] == topics.INQUIRIES]
    out: list[tuple[str, Record]] = []
    for i in range(count):
        kind = ("garbage", "wrong_type", "unknown_enum")[i % 3]
        if kind == "garbage":
            out.append((kind, (topics.ORDERS, b"x", rng.randbytes(rng.randint(1, 80)))))
        elif kind == "wrong_type":
            topic, key, value = rng.choice(inquiries)
            out.append((kind, (topics.ORDERS, key, value)))  # an inquiry on the orders topic
        else:
            _, key, value = rng.choice(orders)
            decoded = c.decode(value)
            assert isinstance(decoded, Decoded)
            bad = {**decoded.value, "status": f"teleported-{i}"}
            out.append((kind, (topics.ORDERS, key, c.encode("OrderEvent", bad))))
    return out


def run(settings: Settings, workdir: Path, records: list[Record], good: int) -> float:
    """Good events per second of one worker over ``records`` (produced before it starts)."""
    create_topics(settings)
    produce_raw(settings, records)
    worker = WorkerProcess.start(settings, workdir, free_port(), {})
    try:
        worker.wait_ready()
        audit = read_topics(settings, [topics.AUDIT], until=good, timeout=300)
        assert len(audit) >= good, worker.log_tail()
    finally:
        worker.stop()
    # The middle 80% of the run: start-up and the last commit are not throughput.
    stamps = sorted(r.timestamp_ms for r in audit)
    low, high = len(stamps) // 10, len(stamps) * 9 // 10
    return (high - low) / max((stamps[high] - stamps[low]) / 1000, 1e-3)


@pytest.mark.parametrize(
    ("events", "noise"),
    [
        pytest.param(5_000, 0.25, id="5k"),  # make test: best of two rounds each
        pytest.param(50_000, 0.10, id="50k", marks=pytest.mark.slow),  # make soak: one round
    ],
)
def test_when_one_percent_is_poison_then_all_of_it_is_dead_lettered_and_good_ones_keep_pace(
    kafka_bootstrap: str, tmp_path: Path, events: int, noise: float
) -> None:
    lines = sample_lines(tmp_path / "s.jsonl", seed=31, customers=events // 20, events=events)
    good: list[Record] = [(r.topic, r.key, r.value) for r in encode_lines(lines, codec())]
    bad = poison(good, count=len(good) // 100, seed=31)
    rng = random.Random(7)
    mixed = list(good)
    for _, record in bad:  # scattered through the stream
        mixed.insert(rng.randrange(len(mixed) + 1), record)

    # Clean and poisoned runs alternate, the best of each counts: one slow run (another job
    # took a core) says nothing about poison. A second round only when the first one's ratio
    # is under the bar (the best of two can only be higher).
    rates: dict[str, list[float]] = {"clean": [], "poisoned": []}
    poisoned: Settings | None = None
    bar = 0.95 - noise - EXTRA_NOISE
    for attempt in range(ROUNDS if events <= 5_000 else 1):
        for name, records in (("clean", good), ("poisoned", mixed)):
            workdir = tmp_path / f"{name}-{attempt}"
            workdir.mkdir()
            run_settings = isolated_settings(kafka_bootstrap, workdir)
            rates[name].append(run(run_settings, workdir, records, len(good)))
            poisoned = run_settings if name == "poisoned" else poisoned
        if max(rates["poisoned"]) / max(rates["clean"]) >= bar:
            break
    clean_rate, poisoned_rate = max(rates["clean"]), max(rates["poisoned"])

    assert poisoned is not None
    dead = read_topics(poisoned, [topics.DLQ], until=len(bad), timeout=60, idle=3.0)
    letters = [codec().decode(r.value) for r in dead]
    assert all(isinstance(d, Decoded) for d in letters)
    values = [d.value for d in letters if isinstance(d, Decoded)]
    assert sorted(v["raw"] for v in values) == sorted(r[2] for _, r in bad)
    assert all(v["error"] and v["error_kind"] and v["offset"] is not None for v in values)
    kinds = sorted({v["error_kind"] for v in values})
    ratio = poisoned_rate / clean_rate
    print(
        f"poison {events}: {len(bad)} bad of {len(mixed)}, {len(dead)} in the DLQ "
        f"(kinds {kinds}); good events/s clean {[round(r) for r in rates['clean']]}, "
        f"poisoned {[round(r) for r in rates['poisoned']]}, best-of ratio {ratio:.3f}"
    )
    assert len(dead) == len(bad)
    assert ratio >= bar, f"good events at {ratio:.0%} of a clean run"
