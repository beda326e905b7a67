"""Where each erasure notice went: the ``purposegate.erasures`` record of a delivered tombstone.

When the broker acknowledges a tombstone, its topic, partition, offset and the time go to the
compacted ``purposegate.erasures`` topic (``kind: notice``), keyed by the shared topic and the
tombstone's key (opaque: whatever key the recipient got), so that compaction keeps one notice per
topic and subject: a later notice of the same key supersedes the earlier one (a recipient that
read the later tombstone has read past the earlier). The withdrawal that sent the tombstone is
acked only once its notice record is delivered too (``agents.delivery``): no ack without the
record of the notice. A crash in between replays the withdrawal, which sends its tombstones and
their notices again (``policy.engine``: a replayed change notifies the same topics), and the new
notice replaces the old under the same key: none lost, none counted twice.

Why a topic of its own and not the audit: the audit record of the withdrawal is written in the
same batch as its tombstones, before their offsets exist, and the audit keeps exactly one record
per input event; the receipts (read at, gone at) come later still, from the erasure tracker
(``broker.erasure_tracker``), and need a place that is rewritten, not appended to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agents.runtime import Runtime
from broker.erasures import NOTICE, notice_value, record_key
from flow.path import Outgoing
from policy import topics
from policy.erasure import Notice, topic_terms


class NoticeWriter:
    """The notice record of a delivered tombstone, encoded for ``purposegate.erasures``."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.terms = topic_terms(rt.compiled.policy)
        self.topic = rt.names.physical(topics.ERASURES)

    def notice(self, record: Outgoing, metadata: Any, told_at: datetime) -> Notice:
        """The notice of ``record`` (a tombstone) that the broker put at ``metadata``."""
        assert record.notice is not None  # noqa: S101 - only tombstones get here
        terms = self.terms[record.topic]
        return Notice(
            record.topic,
            int(metadata.partition),
            int(metadata.offset),
            record.key.decode("utf-8", "replace"),
            terms.recipient,
            terms.purpose,
            record.notice.reason,
            record.notice.event_id,
            told_at,
        )

    def encoded(self, notice: Notice) -> tuple[bytes, bytes]:
        """Key and value bytes of the notice record."""
        value = self.rt.codec.encode_for(topics.ERASURES, notice_value(notice, NOTICE))
        return record_key(NOTICE, notice.topic, notice.key), value
