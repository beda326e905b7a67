"""Broker restart during load: the broker (one of this test's own, never the session's) stops
mid-stream and comes back; the worker recovers unattended and nothing acknowledged is lost.

Every input is acknowledged by the broker before it stops, so every output the dry run expects
must be there afterwards; duplicates (replays after the outage) are counted.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bench.workers import WorkerProcess, free_port
from policy import topics
from tests.integration.brokers import own_broker
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


@pytest.mark.parametrize(
    ("events", "outage_s"),
    [
        pytest.param(5_000, 10, id="5k-10s"),  # make test
        pytest.param(50_000, 30, id="50k-30s", marks=pytest.mark.slow),  # make soak
    ],
)
def test_when_the_broker_restarts_mid_stream_then_the_worker_recovers_and_nothing_is_lost(
    tmp_path: Path, events: int, outage_s: int
) -> None:
    with own_broker(tmp_path) as broker:
        settings = isolated_settings(broker.bootstrap, tmp_path)
        assert settings.pseudonym_keys_file is not None
        c = codec()
        lines = sample_lines(tmp_path / "s.jsonl", 53, events // 20, events)
        expected = dry_run(lines, tmp_path, settings.pseudonym_keys_file)
        records = encode_lines(lines, c)
        create_topics(settings)
        # A backlog (each input in event time, the inputs interleaved at random), all of it
        # acknowledged by the broker before the outage.
        ordered = backlog(lines, records, settings.partitions, 53)
        produce_raw(settings, ((r.topic, r.key, r.value) for r in ordered))
        worker = WorkerProcess.start(settings, tmp_path, free_port(), {})
        watcher = TopicWatcher(settings, [topics.AUDIT])
        try:
            worker.wait_ready()
            stop_at = len(records) // 3
            while watcher.distinct_event_ids() < stop_at:
                assert worker.process.poll() is None, worker.log_tail()
            broker.down()
            before = watcher.distinct_event_ids()
            time.sleep(outage_s)
            assert worker.process.poll() is None, f"worker died in the outage\n{worker.log_tail()}"
            broker.up()
            back = time.monotonic()
            # A fresh reader: the old one's reconnect backoff would be measured, not the worker.
            watcher.close()
            watcher = TopicWatcher(settings, [topics.AUDIT])
            resumed: float | None = None
            deadline = back + 180 + len(records) / 200
            while time.monotonic() < deadline:
                done = watcher.distinct_event_ids()
                if resumed is None and done > before:
                    resumed = time.monotonic() - back
                if done >= len(records):
                    break
            finished = time.monotonic() - back
            assert watcher.distinct_event_ids() >= len(records), worker.log_tail()
            left = wait_all_committed(settings, 120, lambda: worker.process.poll() is None)
            assert left == 0, f"{left} inputs not committed\n{worker.log_tail()}"
            assert worker.process.poll() is None, worker.log_tail()
        finally:
            watcher.close()
            worker.stop()
        result = compare_with_dry_run(settings, c, expected)
    print(f"broker down {outage_s} s at {before}/{len(records)} audited ({events} events): "
          f"{result}; new output readable {resumed:.1f} s after the broker "
          f"was back, all {len(records)} audited after {finished:.1f} s")  # fmt: skip
    assert result.lost == 0, worker.log_tail()
    assert result.unexpected == 0, f"records the policy would not send: {result.examples}"
