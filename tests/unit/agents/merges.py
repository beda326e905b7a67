"""Building and draining event-time mergers in the tests: entries added by script, and what
comes out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agents.merge import Entry, Merger, Wait

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


TOPICS = ("orders", "inquiries", "campaign-entries", "consents", "subject-requests")


IDLE = 0.5


MAX_WAIT = 5.0


#: (topic, partition, offset, seconds after T0 or None for undecodable, tie rank)
Add = tuple[str, int, int, float | None, int]


def merger_with(adds: list[Add], read_at: float = -10.0) -> Merger[str]:
    merger: Merger[str] = Merger(TOPICS, IDLE, MAX_WAIT)
    for topic, partition, offset, seconds, rank in adds:
        order = None if seconds is None else (T0 + timedelta(seconds=seconds), rank)
        entry = Entry(offset, order, f"{topic}/{partition}@{offset}")
        merger.add(topic, partition, entry, read_at)
    return merger


def lag_of(lagging: set[tuple[str, int]]):  # type: ignore[no-untyped-def]
    def lagging_fn(topic: str, partition: int, last: int | None) -> bool:
        return (topic, partition) in lagging

    return lagging_fn


def drain(merger: Merger[str], now: float, lagging: set[tuple[str, int]]) -> tuple[list[str], Wait]:
    released: list[str] = []
    while True:
        outcome = merger.pop(now, lag_of(lagging))
        if isinstance(outcome, Wait):
            return released, outcome
        released.append(outcome.entry.item)
