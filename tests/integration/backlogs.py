"""Backlogs the size of a shop's day (issue 21), built, produced and watched for the tests.

A *day backlog* is a `purposegate sample` stream with a consent history in front of it: every
customer's consent changes of the two days before the stream's first event (a consent topic
holds history older than the orders; that is normal). All five input topics are on the broker
before the worker starts, each topic-partition in decision order, the topic-partitions
interleaved at random. So every partition of the merge must decide thousands of consent
changes before the first order: the fetch must bring the consents while the other inputs wait.

A *dead-letter flood* is the same stream with most of its events dated far in the future, as
a producer with a broken clock would send them: they go to the DLQ (``event_time_in_future``),
interleaved with the valid ones in each topic-partition.

:class:`CommitWatch` samples the group's committed offsets while the worker runs, to show that
commits advance throughout (the longest time without any advance).
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from broker.lag import LagCollector
from config.settings import Settings
from policy import topics
from tests.integration.streams_for_tests import encode_lines, encode_unchecked, sample_lines
from wire import Codec
from wire.input_lines import Prepared

#: Consent scopes the history toggles.
HISTORY_SCOPES = ("marketing", "monitoring_research", "skin_support", "cross_border")
#: How long before the stream's first event the consent history starts.
HISTORY_SPAN = timedelta(days=2)
#: Where a flood's broken clock puts its events.
FUTURE = datetime(2099, 1, 1, tzinfo=UTC)
#: The log lines that must never appear while a backlog is decided.
FORBIDDEN_LOG = ("out of event-time order", "stalled", "Stream has not started processing")


def day_backlog_lines(
    path: Path, seed: int, customers: int, events: int, history: int
) -> list[str]:
    """A sample stream of ``events`` events with ``history`` consent changes in front of it."""
    lines = sample_lines(path, seed=seed, customers=customers, events=events)
    first = min(_event_time(line) for line in lines)
    ids = sorted({json.loads(line)["value"]["customer_id"] for line in lines})
    rng = random.Random(seed)  # noqa: S311 - a reproducible test stream
    span_ms = int(HISTORY_SPAN.total_seconds() * 1000)
    history_lines = []
    for number in range(history):
        at = first - HISTORY_SPAN + timedelta(milliseconds=rng.randrange(span_ms))
        value = {
            "event_id": f"hist-{number:08d}",
            "event_time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "customer_id": rng.choice(ids),
            "scope": rng.choice(HISTORY_SCOPES),
            "granted": rng.random() < 0.6,
            "source": "web_form",
        }
        history_lines.append(json.dumps({"topic": "consents", "value": value}))
    everything = _before_today(history_lines + lines)
    path.write_text("\n".join(everything) + "\n")
    return everything


def _before_today(lines: list[str]) -> list[str]:
    """The stream moved back in time, all of it alike, when it would run past yesterday: the
    sample's clock ticks ~7.5 minutes an event from 2023, so a million events end in the future
    (and would all be dead letters). Only ``event_time`` is a time in these lines."""
    last = max(_event_time(line) for line in lines)
    latest = datetime.now(UTC) - timedelta(days=1)
    if last <= latest:
        return lines
    shift = last - latest
    moved = []
    for line in lines:
        document = json.loads(line)
        at = _event_time(line) - shift
        document["value"]["event_time"] = at.isoformat(timespec="milliseconds").replace(
            "+00:00", "Z"
        )
        moved.append(json.dumps(document))
    return moved


def flood_lines(lines: list[str], share: float, seed: int) -> list[str]:
    """The same stream with ``share`` of its events (not state changes) dated in the future."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible test stream
    flooded = []
    for line in lines:
        document = json.loads(line)
        if document["topic"] not in topics.STATE_TOPICS and rng.random() < share:
            offset = timedelta(seconds=rng.randrange(86_400))
            document["value"]["event_time"] = (FUTURE + offset).isoformat().replace("+00:00", "Z")
            line = json.dumps(document)
        flooded.append(line)
    return flooded


def encode_any(lines: list[str], codec: Codec) -> list[Prepared]:
    """Lines as input records even when the pipeline will refuse them (a future date): a
    broken upstream producer writes them all the same. Valid lines go through the one door."""
    future = [_event_time(line) >= FUTURE for line in lines]
    checked = iter(encode_lines([ln for ln, f in zip(lines, future, strict=True) if not f], codec))
    unchecked = iter(
        encode_unchecked([ln for ln, f in zip(lines, future, strict=True) if f], codec)
    )
    return [
        replace(next(unchecked if f else checked), line=number)
        for number, f in enumerate(future, start=1)
    ]


@dataclass
class CommitWatch:
    """Samples the group's committed input offsets every ``every_s`` in a thread."""

    settings: Settings
    every_s: float = 1.0
    #: (seconds since start, records committed in all)
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> CommitWatch:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def longest_without_commit(self, until: float | None = None) -> float:
        """The longest time (seconds) between two advances of the committed total, from the
        first sample to ``until`` (default: the last sample)."""
        advances = [0.0]
        last = None
        for at, committed in self.samples:
            if until is not None and at > until:
                break
            if last is not None and committed > last:
                advances.append(at)
            last = committed
        end = until if until is not None else (self.samples[-1][0] if self.samples else 0.0)
        advances.append(end)
        return max(b - a for a, b in zip(advances, advances[1:], strict=False))

    def _run(self) -> None:
        collector = LagCollector(self.settings, self.settings.app_id, topics=topics.INPUT_TOPICS)
        began = time.monotonic()
        try:
            while not self._stop.wait(self.every_s):
                try:
                    offsets = collector.fetch()
                except Exception:  # noqa: BLE001, S112 - a missed sample is no progress
                    continue
                total = sum(o.committed or 0 for o in offsets.values())
                self.samples.append((time.monotonic() - began, total))
        finally:
            collector.close()


def peak_rss_mib(pid: int) -> float:
    """A live process's peak resident set (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def forbidden_lines(log: str) -> list[str]:
    """Worker log lines that say it decided out of event time or stalled."""
    return [line for line in log.splitlines() if any(word in line for word in FORBIDDEN_LOG)]


def _event_time(line: str) -> datetime:
    stamp: str = json.loads(line)["value"]["event_time"]
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def figures(**values: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())
