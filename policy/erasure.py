"""Erasure you can prove (docs/contract.md §3): each shared topic's physical bound, and the state of
an erasure notice from what the broker says about it. Pure: no Kafka here.

A shared topic is ``cleanup.policy=delete``: a record leaves the broker when its whole log
segment is deleted, which happens once the segment's newest record is older than
``retention.ms``, looked at every ``log.retention.check.interval.ms`` of the broker. A segment
takes records until it is ``segment.ms`` old (time-based roll; the active segment is deleted
too once all of it is past retention), and the files of a deleted segment are removed
``file.delete.delay.ms`` later. So a record sent at *t* is gone by
*t* + ``segment.ms`` + ``retention.ms`` + the check interval + the delete delay
(:func:`physical_bound`). Not ``compact``: compaction would keep only the last record per key,
and a shared topic is a stream of events (a customer's every order), not a table of the latest.

A *notice* is one tombstone the broker acknowledged (topic, partition, offset, when). It is
*pending* until the recipient's consumer group has committed an offset past it, then *read*
(the time first seen read is kept); *overdue* when still unread ``erasure_read_within`` after it
was sent; *gone* once the broker's first offset of the partition has passed it (the tombstone and
every record of the subject before it deleted) after it was read. A notice that was never read
stays overdue after the broker deleted it: the recipient never confirmed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final, Literal

from policy.models import DEFAULT_RETENTION, Policy, default_consumer_group, duration
from policy.topics import shared_topic

#: A shared topic's ``segment.ms`` when none of its routes declares one.
DEFAULT_SEGMENT_ROLL: Final = timedelta(days=1)
#: How long a notice may stay unread when none of the topic's routes declares it.
DEFAULT_READ_WITHIN: Final = timedelta(days=7)
#: Kafka's default ``file.delete.delay.ms``; purposegate sets it on every shared topic.
DELETE_DELAY: Final = timedelta(minutes=1)
#: Kafka's default ``log.retention.check.interval.ms`` (the broker's own value decides).
DEFAULT_CHECK_INTERVAL: Final = timedelta(minutes=5)

State = Literal["pending", "read", "overdue", "gone"]
STATES: Final[tuple[State, ...]] = ("pending", "read", "overdue", "gone")


@dataclass(frozen=True)
class TopicTerms:
    """What the policy declares for one shared topic's erasures."""

    topic: str
    recipient: str
    purpose: str
    consumer_group: str
    retention: timedelta
    segment_roll: timedelta
    read_within: timedelta


def topic_terms(policy: Policy) -> dict[str, TopicTerms]:
    """Each shared topic's terms, from its routes (which agree: ``policy.rules``; should they
    not, the shortest durations: the topic keeps less and is overdue sooner)."""
    groups = policy.topic_consumer_groups()
    terms: dict[str, TopicTerms] = {}
    for route in policy.routes:
        topic = shared_topic(route.recipient, route.purpose)
        new = TopicTerms(
            topic,
            route.recipient,
            route.purpose,
            groups.get(topic, default_consumer_group(route.recipient, route.purpose)),
            duration(route.retention) if route.retention else DEFAULT_RETENTION,
            duration(route.segment_roll) if route.segment_roll else DEFAULT_SEGMENT_ROLL,
            duration(route.erasure_read_within)
            if route.erasure_read_within
            else DEFAULT_READ_WITHIN,
        )
        old = terms.get(topic)
        if old is not None:
            new = replace(
                new,
                retention=min(old.retention, new.retention),
                segment_roll=min(old.segment_roll, new.segment_roll),
                read_within=min(old.read_within, new.read_within),
            )
        terms[topic] = new
    return dict(sorted(terms.items()))


def topic_segment_roll(policy: Policy) -> dict[str, timedelta]:
    """Each shared topic's ``segment.ms`` as its routes declare it (default 1 day)."""
    return {topic: terms.segment_roll for topic, terms in topic_terms(policy).items()}


def physical_bound(
    terms: TopicTerms,
    check_interval: timedelta = DEFAULT_CHECK_INTERVAL,
    delete_delay: timedelta = DELETE_DELAY,
) -> timedelta:
    """How long after it was sent a record of the topic can still be on the broker.

    >>> t = TopicTerms("shared.a.b", "a", "b", "a.b", timedelta(days=30), timedelta(days=1),
    ...                DEFAULT_READ_WITHIN)
    >>> str(physical_bound(t))
    '31 days, 0:06:00'
    """
    return terms.retention + terms.segment_roll + check_interval + delete_delay


def bound_text(terms: TopicTerms) -> str:
    """The bound as the catalogue states it (the broker's check interval at its default).

    >>> t = TopicTerms("shared.a.b", "a", "b", "a.b", timedelta(days=14), timedelta(days=1),
    ...                DEFAULT_READ_WITHIN)
    >>> bound_text(t).split(": ")[1]
    'a record is gone at most 15 days 6 min after it was sent'
    """
    return (
        f"retention {span(terms.retention)} + segment roll {span(terms.segment_roll)} + the "
        f"broker's retention check ({span(DEFAULT_CHECK_INTERVAL)} by default) + file delete "
        f"delay {span(DELETE_DELAY)}: a record is gone at most {span(physical_bound(terms))} "
        "after it was sent"
    )


def span(length: timedelta) -> str:
    """A duration in days, hours, minutes and seconds, largest first, zeros left out.

    >>> span(timedelta(days=1, minutes=6)), span(timedelta(seconds=75))
    ('1 day 6 min', '1 min 15 s')
    """
    left = int(length.total_seconds())
    parts = []
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        count, left = divmod(left, size)
        if count:
            plural = "s" if unit == "day" and count > 1 else ""
            parts.append(f"{count} {unit}{plural}")
    return " ".join(parts) or "0 s"


@dataclass(frozen=True)
class Notice:
    """One erasure notice: a tombstone the broker acknowledged, and what became of it.

    ``key``: the tombstone's key as the recipient got it (opaque); ``event_id``: the input event
    (the withdrawal or suspension) that sent it, as in the audit."""

    topic: str
    partition: int
    offset: int
    key: str
    recipient: str
    purpose: str
    reason: str
    event_id: str
    told_at: datetime
    read_at: datetime | None = None
    gone_at: datetime | None = None

    def same_tombstone(self, other: Notice) -> bool:
        """Both name the one tombstone (a receipt belongs to this notice)."""
        return (self.topic, self.partition, self.offset) == (
            other.topic,
            other.partition,
            other.offset,
        )


def state_of(notice: Notice, now: datetime, read_within: timedelta) -> State:
    """The notice's state at ``now`` (module docstring)."""
    if notice.read_at is not None:
        return "gone" if notice.gone_at is not None else "read"
    return "overdue" if now >= notice.told_at + read_within else "pending"


def current(notice: Notice | None, receipt: Notice | None) -> Notice | None:
    """The notice of a topic and key with its receipt, when the receipt is for that tombstone
    (a newer notice of the same key starts unread)."""
    if notice is None:
        return receipt
    if receipt is not None and receipt.same_tombstone(notice):
        return receipt
    return notice


def advanced(
    notice: Notice,
    committed: Mapping[tuple[str, int], int],
    first_offsets: Mapping[tuple[str, int], int],
    now: datetime,
) -> Notice | None:
    """The notice with what the broker now says (``committed``: the recipient group's committed
    offsets; ``first_offsets``: each partition's earliest offset, by logical topic and
    partition); None when nothing changed. A committed offset is the next one the group reads:
    past the tombstone when greater than its offset.

    >>> from datetime import UTC
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> n = Notice("shared.a.b", 0, 7, "k", "a", "b", "use_suspended", "e1", t0)
    >>> advanced(n, {("shared.a.b", 0): 8}, {}, t0).read_at == t0
    True
    >>> advanced(n, {("shared.a.b", 0): 7}, {}, t0) is None
    True
    """
    where = (notice.topic, notice.partition)
    found = notice
    if found.read_at is None and committed.get(where, -1) > notice.offset:
        found = replace(found, read_at=now)
    past = first_offsets.get(where, -1) > notice.offset
    if found.read_at is not None and found.gone_at is None and past:
        found = replace(found, gone_at=now)
    return None if found is notice else found


def counts(
    notices: Iterable[Notice], now: datetime, terms: Mapping[str, TopicTerms]
) -> dict[tuple[str, str], int]:
    """How many notices per recipient and state (every state of every recipient named, 0 too)."""
    found: dict[tuple[str, str], int] = {
        (t.recipient, state): 0 for t in terms.values() for state in STATES
    }
    for notice in notices:
        within = terms[notice.topic].read_within if notice.topic in terms else DEFAULT_READ_WITHIN
        where = (notice.recipient, state_of(notice, now, within))
        found[where] = found.get(where, 0) + 1
    return found
