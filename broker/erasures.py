"""The ``purposegate.erasures`` topic: notices and receipts, written and read back.

A *notice* record (``kind: notice``) is written by the worker when the broker has a tombstone
(``agents.notices``); a *receipt* (``kind: receipt``) by the erasure tracker when the recipient's
group has read past it or the broker has deleted it (``broker.erasure_tracker``). Both
are keyed by kind, shared topic and the tombstone's key, so that compaction keeps the latest of
each, and the two writers never overwrite each other: a receipt counts only for the tombstone it
names (``policy.erasure.current``), so a newer notice of the same key starts unread.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from broker.reader import Reader, open_reader, records
from config.settings import Settings
from policy import topics
from policy.erasure import Notice, current
from wire import Codec, Decoded

NOTICE = "notice"
RECEIPT = "receipt"


def record_key(kind: str, topic: str, key: str) -> bytes:
    """The ``purposegate.erasures`` key: kind, shared topic, the tombstone's key (JSON).

    >>> record_key("notice", "shared.a.b", "c-1")
    b'["notice","shared.a.b","c-1"]'
    """
    return json.dumps([kind, topic, key], separators=(",", ":"), ensure_ascii=False).encode()


def notice_value(notice: Notice, kind: str) -> dict[str, Any]:
    """The ``ErasureNotice`` value (``schemas/audit/ErasureNotice.avsc``)."""
    return {
        "kind": kind,
        "topic": notice.topic,
        "partition": notice.partition,
        "offset": notice.offset,
        "subject_key": notice.key,
        "recipient": notice.recipient,
        "purpose": notice.purpose,
        "reason": notice.reason,
        "event_id": notice.event_id,
        "told_at": notice.told_at,
        "read_at": notice.read_at,
        "gone_at": notice.gone_at,
    }


def notice_from(value: Mapping[str, Any]) -> tuple[str, Notice]:
    """The kind and the notice of a decoded ``ErasureNotice`` value."""
    return str(value["kind"]), Notice(
        str(value["topic"]),
        int(value["partition"]),
        int(value["offset"]),
        str(value["subject_key"]),
        str(value["recipient"]),
        str(value["purpose"]),
        str(value["reason"]),
        str(value["event_id"]),
        _utc(value["told_at"]),
        _utc(value.get("read_at")),
        _utc(value.get("gone_at")),
    )


def _utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass
class NoticeBook:
    """The latest notice and receipt per shared topic and key, as the topic has them."""

    notices: dict[tuple[str, str], Notice] = field(default_factory=dict)
    receipts: dict[tuple[str, str], Notice] = field(default_factory=dict)
    unreadable: int = 0

    def add(self, kind: str, notice: Notice) -> None:
        """A record read (or written) in topic order: the later one per key wins."""
        (self.receipts if kind == RECEIPT else self.notices)[(notice.topic, notice.key)] = notice

    def read(self, values: Iterable[bytes | None], codec: Codec) -> None:
        """Add every record of ``values`` (raw bytes; a null value deletes nothing here)."""
        for raw in values:
            decoded = codec.decode(raw) if raw is not None else None
            if isinstance(decoded, Decoded) and isinstance(decoded.value, dict):
                self.add(*notice_from(decoded.value))
            elif raw is not None:
                self.unreadable += 1

    def current(self) -> dict[tuple[str, str], Notice]:
        """Each topic and key's notice with its receipt (``policy.erasure.current``)."""
        found = {}
        for where in {*self.notices, *self.receipts}:
            notice = current(self.notices.get(where), self.receipts.get(where))
            if notice is not None:
                found[where] = notice
        return dict(sorted(found.items()))


class NoticeTail:
    """Reads ``purposegate.erasures`` into a :class:`NoticeBook` and keeps reading where it
    stopped: each :meth:`catch_up` reads to the end offsets of the moment."""

    def __init__(self, settings: Settings, codec: Codec) -> None:
        self.settings = settings
        self.codec = codec
        self.book = NoticeBook()
        self._reader: Reader | None = None

    def catch_up(self) -> NoticeBook:
        """Read what was written since the last call (everything, the first time)."""
        if self._reader is None:
            self._reader = open_reader(self.settings, [topics.ERASURES])
        reader = self._reader
        reader.end = dict(reader.client.end_offsets(list(reader.end)))
        self.book.read((r.value for r in records(reader, follow=False)), self.codec)
        return self.book

    def close(self) -> None:
        """Close the reader; the next :meth:`catch_up` reads the topic again from the start."""
        if self._reader is not None:
            self._reader.client.close()
        self._reader = None
        self.book = NoticeBook()


def read_notices(settings: Settings, codec: Codec) -> NoticeBook:
    """Every notice and receipt on the topic (``purposegate erasures``)."""
    tail = NoticeTail(settings, codec)
    try:
        return tail.catch_up()
    finally:
        tail.close()
