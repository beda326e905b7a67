"""Event time on Kafka: the worker decides every event on the state as of its event_time, as the
dry run does, whatever the order in which the five input topics arrive (docs/contract.md §2)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agents.consent_table import HORIZON_KEY, STREAM_MARK_KEY
from bench.workers import WorkerProcess
from config.settings import Settings
from policy import topics
from tests.integration.kafka_io import TopicWatcher, produce_raw, read_topics, wait_all_committed
from tests.integration.streams_for_tests import (
    backlog,
    compare_with_dry_run,
    create_topics,
    dry_run,
    encode_lines,
    partition_of,
    sample_lines,
)
from tests.integration.streams_for_tests import (
    codec as build_codec,
)
from wire import Codec

pytestmark = pytest.mark.integration

CUSTOMERS, EVENTS = 300, 3_000


@pytest.fixture(scope="module")
def codec() -> Codec:
    return build_codec()


BACKLOGS = [
    # seed 1: one worker, default settings
    pytest.param(1, 1, {}, id="seed1-one-worker"),
    # seed 2: two workers started together on the backlog (they rebalance while deciding)
    pytest.param(2, 2, {}, id="seed2-two-workers"),
    # seed 3: one worker whose stream buffer (64) is far smaller than what the merge holds
    # unacked: flow control must not deadlock
    pytest.param(3, 1, {"PURPOSEGATE_STREAM_BUFFER_MAXSIZE": "64"}, id="seed3-small-buffer"),
]


@pytest.mark.parametrize(("seed", "workers", "env"), BACKLOGS)
def test_when_a_backlog_in_a_random_interleaving_is_processed_then_it_equals_the_dry_run(
    seed: int,
    workers: int,
    env: dict[str, str],
    settings: Settings,
    start_worker: Any,
    codec: Codec,
    tmp_path: Path,
    pseudonym_keys_file: Path,
) -> None:
    lines = sample_lines(tmp_path / "sample.jsonl", seed=seed, customers=CUSTOMERS, events=EVENTS)
    expected = dry_run(lines, tmp_path, pseudonym_keys_file)  # the file as generated, unsorted
    records = encode_lines(lines, codec)
    create_topics(settings)
    ordered = backlog(lines, records, settings.partitions, seed)
    produce_raw(settings, ((r.topic, r.key, r.value) for r in ordered))
    started: list[WorkerProcess] = [start_worker(**env) for _ in range(workers)]
    watcher = TopicWatcher(settings, [topics.AUDIT])
    began = time.monotonic()
    try:
        for worker in started:
            worker.wait_ready(timeout=120)
        deadline = time.monotonic() + 240
        while watcher.distinct_event_ids() < len(records) and time.monotonic() < deadline:
            assert all(w.process.poll() is None for w in started), started[0].log_tail()
        # after a rebalance an event audited once may be read again: wait for its sends too
        left = wait_all_committed(
            settings, 120, lambda: all(w.process.poll() is None for w in started)
        )
        assert left == 0, f"{left} inputs not committed\n{started[0].log_tail()}"
    finally:
        watcher.close()
    took = time.monotonic() - began
    comparison = compare_with_dry_run(settings, codec, expected)
    print(f"seed {seed}, {workers} worker(s), {env or 'defaults'}: {len(records)} inputs in "
          f"{took:.1f} s; {comparison}")  # fmt: skip
    assert comparison.lost == 0, f"{comparison}\n{started[0].log_tail()}"
    assert comparison.unexpected == 0, f"not what the dry run decides: {comparison.examples}"
    if workers == 1:  # no rebalance, no replay: record for record
        assert (comparison.duplicated, comparison.received) == (0, comparison.expected)
    assert read_topics(settings, [topics.DLQ], idle=1.0) == []
    assert_changelog_on_input_partitions(settings, records)


def table_partition(key: bytes, settings: Settings) -> int:
    """Where a consent-table key belongs: a customer's on its input partition, a partition's
    own key (``STREAM_MARK_KEY % p``, ``HORIZON_KEY % p``) on partition p."""
    for own in (STREAM_MARK_KEY, HORIZON_KEY):
        prefix = own.split(b"%d")[0]
        if key.startswith(prefix):
            return int(key[len(prefix) :])
    return partition_of(key, settings.partitions)


def assert_changelog_on_input_partitions(settings: Settings, records: list[Any]) -> None:
    """Every consent-table write went to the partition of the customer's input records; a
    partition's own keys (its stream mark, its forgetting horizon) to that partition."""
    changelog = f"{settings.app_id}-consent-state-changelog"
    physical = settings.model_copy(update={"topic_prefix": ""})
    written = read_topics(physical, [changelog], idle=2.0)
    assert written, "the consent table was never written"
    wrong = Counter(r.partition != table_partition(r.key or b"", settings) for r in written)
    inputs = {partition_of(r.key, settings.partitions) for r in records}
    assert wrong[True] == 0 and len(inputs) == settings.partitions, wrong
