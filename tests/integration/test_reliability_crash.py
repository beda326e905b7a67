"""Worker crash: SIGKILL the worker three times at random points of a stream and restart it
each time. Nothing the dry run expects may be missing, nothing it does not expect may appear
(the policy holds on everything that left); duplicates (at-least-once replays) are counted.

The stream is on the broker before the first worker starts (a backlog, each input in event
time, the inputs interleaved at random): the worker decides it in event time, as the dry run
of the file does.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from bench.workers import WorkerProcess, free_port
from config.settings import Settings
from policy import topics
from tests.integration.kafka_io import TopicWatcher, produce_raw, wait_all_committed
from tests.integration.streams_for_tests import (
    backlog,
    codec,
    compare_with_dry_run,
    create_topics,
    dry_run,
    encode_lines,
    isolated_settings,
    sample_lines,
)

pytestmark = pytest.mark.integration

KILLS = 3


@pytest.mark.parametrize(
    ("events", "seed"),
    [
        pytest.param(5_000, 41, id="5k"),  # make test
        pytest.param(50_000, 43, id="50k", marks=pytest.mark.slow),  # make soak
    ],
)
def test_when_the_worker_is_sigkilled_three_times_then_nothing_is_lost_and_policy_holds(
    kafka_bootstrap: str, tmp_path: Path, events: int, seed: int
) -> None:
    settings: Settings = isolated_settings(kafka_bootstrap, tmp_path)
    assert settings.pseudonym_keys_file is not None
    c = codec()
    lines = sample_lines(tmp_path / "s.jsonl", seed, events // 20, events)
    expected = dry_run(lines, tmp_path, settings.pseudonym_keys_file)
    records = encode_lines(lines, c)
    rng = random.Random(seed)
    kill_at = sorted(rng.sample(range(len(records) // 20, len(records) * 9 // 10), KILLS))
    print(f"seed {seed}: {len(records)} inputs, SIGKILL after {kill_at} audited")

    create_topics(settings)
    ordered = backlog(lines, records, settings.partitions, seed)
    produce_raw(settings, ((r.topic, r.key, r.value) for r in ordered))
    worker = WorkerProcess.start(settings, tmp_path, free_port(), {})
    workers = [worker]
    watcher = TopicWatcher(settings, [topics.AUDIT])
    restarts: list[float] = []
    try:
        worker.wait_ready()
        deadline = time.monotonic() + 120 + len(records) / 100
        while time.monotonic() < deadline:
            done = watcher.distinct_event_ids()
            if kill_at and done >= kill_at[0]:
                kill_at.pop(0)
                worker.kill()
                started = time.monotonic()
                worker = WorkerProcess.start(settings, tmp_path, free_port(), {})
                workers.append(worker)
                worker.wait_ready(timeout=120)
                restarts.append(time.monotonic() - started)
            if done >= len(records):
                break
        assert watcher.distinct_event_ids() >= len(records), worker.log_tail()
        # an event audited once may still owe records (its worker killed between the two):
        # the last worker reads it again and is not stopped before it has sent them
        left = wait_all_committed(settings, 120, lambda: worker.process.poll() is None)
        assert left == 0, f"{left} inputs not committed\n{worker.log_tail()}"
    finally:
        watcher.close()
        for w in workers:
            w.stop()
    result = compare_with_dry_run(settings, c, expected)
    print(f"worker SIGKILLed {KILLS}x ({events} events): {result}; "
          f"restart to ready {[round(s, 1) for s in restarts]} s")  # fmt: skip
    assert len(restarts) == KILLS
    assert result.lost == 0, f"{result.lost_examples}\n{workers[-1].log_tail()}"
    assert result.unexpected == 0, f"records the policy would not send: {result.examples}"
