"""A day's backlog (issue 21): the worker gets through it in event time, committing as it goes.

All five input topics are on the broker before the worker starts (``tests.integration.backlogs``:
a consent history two days older than the orders, so every partition must decide thousands of
consent changes before its first order). The worker must finish without a stall, without
deciding out of event-time order, with commits advancing throughout, and with outputs and audit
equal to the dry run's record for record.

``make test`` runs CI-sized backlogs (tens of thousands of events, with a small per-partition
buffer and fetch so that the merge feels the pressure a day's backlog puts on it); ``make
backlog`` runs the day itself (``PURPOSEGATE_BACKLOG_EVENTS``, default 250,000, one worker,
``PURPOSEGATE_BACKLOG_RUNS`` times) and records each run's figures in
``$PURPOSEGATE_RUN_DIR/backlog-results.jsonl``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bench.workers import WorkerProcess
from config.settings import Settings
from policy import topics
from tests.integration.backlogs import (
    CommitWatch,
    day_backlog_lines,
    encode_any,
    flood_lines,
    forbidden_lines,
    peak_rss_mib,
)
from tests.integration.kafka_io import TopicWatcher, produce_raw, wait_all_committed
from tests.integration.streams_for_tests import (
    backlog,
    compare_with_dry_run,
    create_topics,
    dry_run_counted,
)
from tests.integration.streams_for_tests import codec as build_codec
from wire import Codec

pytestmark = pytest.mark.integration

#: A small buffer per input partition and small fetches: the merge's pressure at CI's size.
PRESSURE = {
    "PURPOSEGATE_MERGE_PARTITION_BUFFER": "100",
    "PURPOSEGATE_FETCH_MAX_RECORDS": "200",
    "PURPOSEGATE_STREAM_BUFFER_MAXSIZE": "256",
}
#: Commits must advance at least this often while a backlog is decided (seconds).
COMMIT_EVERY_S = 20.0
DAY_EVENTS = int(os.environ.get("PURPOSEGATE_BACKLOG_EVENTS", "250000"))
DAY_RUNS = int(os.environ.get("PURPOSEGATE_BACKLOG_RUNS", "5"))


@dataclass(frozen=True)
class Backlog:
    events: int
    #: consent changes dated before the stream (the history every partition decides first)
    history: int
    #: share of events dated in the future (dead letters)
    flood: float = 0.0
    workers: int = 1
    #: SIGKILL the first worker once this share of the inputs is audited (nobody restarts it)
    kill_at: float | None = None
    env: dict[str, str] = field(default_factory=dict)
    seed: int = 21


CI_BACKLOGS = [
    # a consent history in front of the orders, small buffers: the fetch must serve the merge
    pytest.param(Backlog(24_000, 8_000, env=PRESSURE), id="day-backlog-under-pressure"),
    # three quarters dead-lettered: through at full speed, committing as it goes
    pytest.param(Backlog(24_000, 2_000, flood=0.75, env=PRESSURE), id="dead-letter-flood"),
    # two workers, one SIGKILLed a third of the way in: the survivor finishes alone
    pytest.param(Backlog(12_000, 4_000, workers=2, kill_at=0.33), id="two-workers-one-killed"),
]


@pytest.mark.parametrize("spec", CI_BACKLOGS)
def test_when_a_backlog_is_on_the_broker_then_the_worker_decides_it_in_event_time_committing(
    spec: Backlog,
    settings: Settings,
    start_worker: Any,
    tmp_path: Path,
    pseudonym_keys_file: Path,
) -> None:
    figures = run_backlog(spec, settings, start_worker, tmp_path, pseudonym_keys_file)
    print(json.dumps(figures))


@pytest.mark.backlog
@pytest.mark.parametrize("run", range(1, DAY_RUNS + 1))
def test_when_a_day_is_on_the_broker_then_one_worker_decides_it_in_event_time(
    run: int,
    settings: Settings,
    start_worker: Any,
    tmp_path: Path,
    pseudonym_keys_file: Path,
) -> None:
    spec = Backlog(DAY_EVENTS, DAY_EVENTS // 8, seed=run)
    figures = run_backlog(spec, settings, start_worker, tmp_path, pseudonym_keys_file)
    print(json.dumps(figures))
    folder = os.environ.get("PURPOSEGATE_RUN_DIR")
    if folder:
        with (Path(folder) / "backlog-results.jsonl").open("a") as out:
            out.write(json.dumps({"run": run, **figures}) + "\n")


@pytest.mark.backlog
def test_when_a_day_is_mostly_dead_letters_then_one_worker_gets_through_it_committing(
    settings: Settings,
    start_worker: Any,
    tmp_path: Path,
    pseudonym_keys_file: Path,
) -> None:
    # three quarters of the events dated in the future (a producer with a broken clock)
    spec = Backlog(DAY_EVENTS, DAY_EVENTS // 8, flood=0.75, seed=DAY_RUNS + 1)
    figures = run_backlog(spec, settings, start_worker, tmp_path, pseudonym_keys_file)
    print(json.dumps(figures))
    folder = os.environ.get("PURPOSEGATE_RUN_DIR")
    if folder:
        with (Path(folder) / "backlog-results.jsonl").open("a") as out:
            out.write(json.dumps({"run": "flood", **figures}) + "\n")


def run_backlog(
    spec: Backlog, settings: Settings, start_worker: Any, workdir: Path, keys: Path
) -> dict[str, Any]:
    """Put the backlog on the broker, run the workers, assert the guarantees; the figures.
    Complete means every input audited or dead-lettered (a killed worker's replays may
    dead-letter a record twice, so more dead letters than the dry run's are allowed then)."""
    codec: Codec = build_codec()
    customers = max(spec.events // 20, 50)
    lines = day_backlog_lines(
        workdir / "backlog.jsonl", spec.seed, customers, spec.events, spec.history
    )
    sent_as = lines  # the event times the sources emitted in: each topic-partition's order
    if spec.flood:
        lines = flood_lines(lines, spec.flood, spec.seed)
        (workdir / "backlog.jsonl").write_text("\n".join(lines) + "\n")
    expected = dry_run_counted(lines, workdir, keys)  # counted, not held: a million fits
    records = encode_any(lines, codec)
    create_topics(settings)
    # each topic-partition in the order its source emitted (a broken clock's records where they
    # were sent), the topic-partitions interleaved at random
    ordered = backlog(sent_as, records, settings.partitions, spec.seed)
    produce_raw(settings, ((r.topic, r.key, r.value) for r in ordered))
    del ordered, records
    dead = expected.dead_letters
    watcher = TopicWatcher(settings, [topics.AUDIT, topics.DLQ], keep=False)
    workers: list[WorkerProcess] = [start_worker(**spec.env) for _ in range(spec.workers)]
    commits = CommitWatch(settings)
    peak = 0.0
    try:
        for worker in workers:
            worker.wait_ready(timeout=120)
        began = time.monotonic()
        commits.start()
        killed = False
        deadline = began + max(300.0, len(lines) / 150)
        audited: set[str | None] = set()
        dead_seen = 0
        done = 0
        while done < len(lines):
            assert time.monotonic() < deadline, f"{done} of {len(lines)}\n{workers[-1].log_tail()}"
            live = [w for w in workers if w.process.poll() is None]
            assert len(live) == len(workers) - killed, workers[-1].log_tail()
            peak = max([peak, *(peak_rss_mib(w.process.pid) for w in live)])
            for record in watcher.poll():
                if record.topic == topics.DLQ:
                    dead_seen += 1
                else:
                    audited.add(record.headers.get("purposegate-event-id"))
            done = len(audited) + dead_seen
            if spec.kill_at is not None and not killed and done >= spec.kill_at * len(lines):
                workers[0].kill()
                killed = True
        took = time.monotonic() - began
        # every input committed: the last acks (commit timers), and after the kill the sends
        # of events audited once and read again by the survivor
        left = wait_all_committed(
            settings, 120, lambda: any(w.process.poll() is None for w in workers)
        )
        assert left == 0, f"{left} inputs not committed\n{workers[-1].log_tail()}"
    finally:
        commits.stop()
        watcher.close()
    logs = "\n".join(w.log_path.read_text(errors="replace") for w in workers)
    assert forbidden_lines(logs) == [], "\n".join(forbidden_lines(logs)[:5])
    assert commits.longest_without_commit(until=took) <= COMMIT_EVERY_S, commits.samples[-20:]
    comparison = compare_with_dry_run(settings, codec, expected)
    assert comparison.lost == 0, f"{comparison}\n{workers[-1].log_tail()}"
    assert comparison.unexpected == 0, f"not what the dry run decides: {comparison.examples}"
    if spec.workers == 1:
        assert (comparison.duplicated, comparison.received) == (0, comparison.expected)
    return {
        "events": len(lines),
        "dead_letters": dead,
        "workers": spec.workers,
        "seconds": round(took, 1),
        "events_per_s": round(len(lines) / took),
        "peak_rss_mib": round(peak),
        "longest_without_commit_s": round(commits.longest_without_commit(until=took), 1),
        "comparison": str(comparison),
    }
