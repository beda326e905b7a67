"""Many subjects: the worker's recovery time, memory and rate with N customers' consent state.

The state is written straight into the consent table's changelog (``<app_id>-consent-state-
changelog``, the topic Faust restores the table from): key = customer id, value =
``SubjectState.to_json()`` (a marketing grant and two fed shared topics, each customer with
its own event id), partition = the murmur2 partition of the key (``partition_for``, what the
worker's producer picks for the customer's inputs). Then one worker starts on an EMPTY data dir
(a fresh machine): the seconds from its start to ``/health`` ok (partitions assigned, table
recovered), its resident memory (VmRSS, and the peak VmHWM, from ``/proc``) once ready and
after a stream of events over those customers (produced before the worker starts, a backlog
as in the worker phase), and its rate on that stream.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaProducer

from bench.audit import audit_done, first_last_timestamps
from bench.outputs import CHANGELOG, read_all
from bench.stream import log, produce, sample
from broker.admin import TopicSpec, ensure_topics
from broker.partitions import partition_for
from config.settings import Settings
from policy import topics
from policy.state import Consent, SubjectState

if TYPE_CHECKING:
    from bench.phases import Bench

STATE_TIME = datetime(2022, 6, 1, 9, 0, tzinfo=UTC)  # before every sampled event (2023 on)
BATCH_BYTES = 512 * 1024


def states(count: int, fed: list[str]) -> Iterator[tuple[bytes, bytes]]:
    """(customer id, state JSON) for customers C000001 ... (``purposegate sample``'s ids)."""
    template = SubjectState(
        consents={"marketing": Consent(True, STATE_TIME, "con-@@@@@@@")},
        fed_topics=frozenset(fed),
    ).to_json()
    for number in range(1, count + 1):
        yield f"C{number:06d}".encode(), template.replace("@@@@@@@", f"{number:07d}").encode()


async def produce_states(settings: Settings, topic: str, count: int, fed: list[str]) -> None:
    """The states, batched per partition (aiokafka's batch API), acks=all."""
    prod = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks=-1, max_batch_size=BATCH_BYTES
    )
    await prod.start()
    try:
        parts = settings.partitions
        batches = [prod.create_batch() for _ in range(parts)]
        sent: list[asyncio.Future[Any]] = []
        for key, value in states(count, fed):
            p = partition_for(key, parts)
            if batches[p].append(key=key, value=value, timestamp=None) is None:
                sent.append(await prod.send_batch(batches[p], topic, partition=p))
                batches[p] = prod.create_batch()
                batches[p].append(key=key, value=value, timestamp=None)
        for p, batch in enumerate(batches):
            if batch.record_count():
                sent.append(await prod.send_batch(batch, topic, partition=p))
        await asyncio.gather(*sent)
    finally:
        await prod.stop()


def memory_mib(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of a process, MiB."""
    text = Path(f"/proc/{pid}/status").read_text()
    found = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", text, re.MULTILINE))
    return {name: round(int(kb) / 1024, 1) for name, kb in found.items()}


def seed(bench: Bench, settings: Settings, subjects: int) -> dict[str, float]:
    """Write the states into the changelog; then read it back whole with plain aiokafka into a
    dict (what a bulk restore below Faust would cost: the bound of a faster recovery)."""
    changelog = f"{settings.app_id}-{CHANGELOG}"
    bare = settings.model_copy(update={"topic_prefix": ""})
    ensure_topics(bare, [TopicSpec(changelog, settings.partitions, {"cleanup.policy": "compact"})])
    fed = sorted(bench.compiled.shared_topics)[:2]
    began = time.monotonic()
    asyncio.run(produce_states(settings, changelog, subjects, fed))
    seeded = time.monotonic() - began
    began = time.monotonic()
    _, found = asyncio.run(read_all(bare, {changelog: CHANGELOG}))
    table = {r.key: r.value for r in found[CHANGELOG]}
    read = time.monotonic() - began
    assert len(table) == subjects, (len(table), subjects)
    return {"seed_seconds": round(seeded, 1), "plain_read_into_dict_s": round(read, 1)}


def subjects_run(bench: Bench, subjects: int, events: int) -> dict[str, Any]:
    """Seed ``subjects`` states, start a worker on an empty data dir, feed it ``events``."""
    settings = bench.settings(f"s{subjects}")
    bench.create_topics(settings)
    seeded = seed(bench, settings, subjects)
    stream, valid = sample(events, bench.compiled, bench.codec, customers=subjects)
    produce(settings, stream)  # a backlog, as in the worker phase (read once recovered)
    started = time.monotonic()
    worker = bench.start_workers(settings, 1)[0]
    try:
        # recovery is linear in subjects (~4k/s on the 2 shared cores): room for a slow run
        worker.wait_ready(timeout=max(bench.args.timeout, subjects / 1000))
        recovery = time.monotonic() - started
        ready = memory_mib(worker.process.pid)
        audit_done(settings, valid, bench.args.timeout, [worker])
        first, last = first_last_timestamps(settings, topics.AUDIT)
        loaded = memory_mib(worker.process.pid)
        table = _subjects_in_table(worker.metrics())
    finally:
        worker.stop()
    seconds = max((last - first) / 1000, 1e-3)
    return {
        "subjects": subjects,
        **seeded,
        "recovery_s": round(recovery, 1),
        "rss_ready_mib": ready.get("VmRSS"),
        "rss_loaded_mib": loaded.get("VmRSS"),
        "rss_peak_mib": loaded.get("VmHWM"),
        "events": valid,
        "events_per_s": round(valid / seconds),
        "table_subjects_reported": table,
    }


def _subjects_in_table(metrics: str) -> int | None:
    """The worker's own count of subjects in its table (updated every 10 s)."""
    found = re.search(r"^purposegate_consent_subjects(?:\{[^}]*\})? ([0-9.e+]+)$", metrics, re.M)
    return int(float(found.group(1))) if found else None


def scaling(bench: Bench, sizes: list[int], events: int) -> dict[str, Any]:
    """One run per size; the largest is the headline (``million_subjects_*``)."""
    runs = []
    for subjects in sizes:
        log(f"subjects: {subjects:,} customers' state, then {events:,} events over them")
        runs.append(subjects_run(bench, subjects, events))
        log(f"  {runs[-1]}")
    return {"runs": runs}
