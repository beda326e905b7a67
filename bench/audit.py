"""Reading the audit topic: end offsets, first and last CreateTime, records by event id."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from kafka import TopicPartition

from bench.stream import log
from bench.workers import WorkerProcess
from broker.clients import consumer
from config.settings import Settings
from policy import topics
from wire import headers

# -- reading the audit topic --------------------------------------------------------------------


def audit_partitions(client: Any, settings: Settings, logical: str) -> list[TopicPartition]:
    name = settings.topic(logical)
    return [TopicPartition(name, p) for p in sorted(client.partitions_for_topic(name) or ())]


def audit_done(
    settings: Settings, expected: int, timeout: float, procs: Sequence[WorkerProcess]
) -> None:
    """Until the audit topic holds ``expected`` records (end offsets; nothing is decoded)."""
    client = consumer(settings)
    try:
        parts = audit_partitions(client, settings, topics.AUDIT)
        deadline = time.monotonic() + timeout
        last_report = progress_at = time.monotonic()
        previous = -1
        while True:
            total = sum(client.end_offsets(parts).values())
            if total >= expected:
                return
            if total != previous:
                previous, progress_at = total, time.monotonic()
            elif time.monotonic() - progress_at > 60:
                tails = "\n".join(p.log_tail(30) for p in procs)
                raise TimeoutError(f"audit stuck at {total} of {expected} for 60 s:\n{tails}")
            for proc in procs:
                if proc.process.poll() is not None:
                    raise RuntimeError(f"worker exited:\n{proc.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"audit has {total} of {expected} records after {timeout}s")
            if time.monotonic() - last_report > 15:
                log(f"  audit: {total:,} / {expected:,}")
                last_report = time.monotonic()
            time.sleep(0.2)
    finally:
        client.close()


def first_last_timestamps(settings: Settings, logical: str) -> tuple[int, int]:
    """The smallest CreateTime at offset 0 and the largest of the last record, over partitions."""
    client = consumer(settings, max_poll_records=1)
    try:
        parts = audit_partitions(client, settings, logical)
        ends = client.end_offsets(parts)
        firsts: list[int] = []
        lasts: list[int] = []
        for tp in parts:
            if not ends[tp]:
                continue
            client.assign([tp])
            for offset, into in ((0, firsts), (ends[tp] - 1, lasts)):
                client.seek(tp, offset)
                into.append(_one(client, tp).timestamp)
        return min(firsts), max(lasts)
    finally:
        client.close()


def _one(client: Any, tp: TopicPartition) -> Any:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for records in client.poll(timeout_ms=500, max_records=1).values():
            if records:
                return records[0]
    raise TimeoutError(f"no record on {tp}")


class AuditReader:
    """Reads the audit topic from its current end; by ``purposegate-event-id`` header."""

    def __init__(self, settings: Settings) -> None:
        self._client = consumer(settings)
        parts = audit_partitions(self._client, settings, topics.AUDIT)
        self._client.assign(parts)
        self._client.seek_to_end(*parts)
        for tp in parts:
            self._client.position(tp)
        self.seen: dict[str, tuple[int, bytes]] = {}

    def records(self, wanted: set[str], timeout: float) -> dict[str, tuple[int, bytes]]:
        deadline = time.monotonic() + timeout
        while not wanted <= self.seen.keys() and time.monotonic() < deadline:
            left_ms = int((deadline - time.monotonic()) * 1000)
            for batch in self._client.poll(timeout_ms=max(1, min(200, left_ms))).values():
                for r in batch:
                    event_id = dict(r.headers or []).get(headers.EVENT_ID, b"").decode()
                    self.seen[event_id] = (r.timestamp, r.value)
        return {e: self.seen[e] for e in wanted if e in self.seen}

    def timestamps(self, wanted: set[str], timeout: float) -> dict[str, int]:
        return {e: stamp for e, (stamp, _) in self.records(wanted, timeout).items()}

    def close(self) -> None:
        self._client.close()


def percentile(values: Sequence[float], pct: float) -> float | None:
    if not values:
        return None
    index = min(len(values) - 1, max(0, round(pct / 100 * len(values) + 0.5) - 1))
    return round(float(sorted(values)[index]), 1)
