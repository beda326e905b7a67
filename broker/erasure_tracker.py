"""The erasure tracker: what became of each erasure notice, checked on the broker.

Every ``PURPOSEGATE_ERASURE_CHECK_S`` the leader worker (``app.is_leader()``: one worker of the
group, whichever holds Faust's leader partition) reads what was added to ``purposegate.erasures``,
then asks the broker, in one call each, for the committed offsets of every recipient group that
has a notice not yet read and for the first offsets of the partitions whose read notices are not
yet gone. A notice the group has committed past is *read*, one whose partition now starts after
it is *gone* (``policy.erasure.advanced``); each change is written back as a receipt before the
gauge counts it. The state lives in the topic, not in the worker: a restart or a rebalance that
moves the leadership reads the topic again and goes on (a receipt written twice is the same
receipt). A worker that is not the leader exports no ``purposegate_erasure_notices`` series, so
that no notice is counted twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from kafka import TopicPartition
from kafka.admin import OffsetSpec

from broker import metrics
from broker.clients import admin_client, producer
from broker.erasures import RECEIPT, NoticeTail, notice_value, record_key
from broker.names import TopicNames
from config.settings import Settings
from policy import topics
from policy.erasure import Notice, TopicTerms, advanced, counts
from policy.models import default_consumer_group
from wire import Codec

log = logging.getLogger("purposegate.erasures")

Offsets = dict[tuple[str, int], int]


class ErasureTracker:
    """One check of every notice against the broker (blocking calls: run it off the loop)."""

    def __init__(
        self,
        settings: Settings,
        terms: Mapping[str, TopicTerms],
        codec: Codec,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.terms = terms
        self.codec = codec
        self.clock = clock
        self.names = TopicNames(settings)
        self.tail = NoticeTail(settings, codec)
        self._admin: Any = None  # kept between checks: two requests per check, no reconnect

    def check(self) -> dict[tuple[str, str], int]:
        """Read new notices, ask the broker, write the receipts; the counts per recipient and
        state to publish."""
        try:
            book = self.tail.catch_up()
            now = self.clock()
            found = book.current()
            changed = self._advance(found.values(), now)
            self._write(changed)
            for notice in changed:
                book.add(RECEIPT, notice)
            return counts(book.current().values(), now, self.terms)
        except Exception:
            self.tail.close()  # read the topic again from the start next time
            if self._admin is not None:
                self._admin.close()
            self._admin = None
            raise

    def _client(self) -> Any:
        if self._admin is None:
            self._admin = admin_client(self.settings)
        return self._admin

    def _advance(self, notices: Iterable[Notice], now: datetime) -> list[Notice]:
        open_ = [n for n in notices if n.gone_at is None]
        unread = [n for n in open_ if n.read_at is None]
        committed = self._committed({self._group(n) for n in unread})
        first = self._first_offsets({(n.topic, n.partition) for n in open_ if n.read_at})
        changed = []
        for notice in open_:
            new = advanced(notice, committed.get(self._group(notice), {}), first, now)
            if new is not None:
                changed.append(new)
        return changed

    def _group(self, notice: Notice) -> str:
        terms = self.terms.get(notice.topic)
        return (
            terms.consumer_group
            if terms
            else default_consumer_group(notice.recipient, notice.purpose)
        )

    def _committed(self, groups: set[str]) -> dict[str, Offsets]:
        """Each group's committed offsets by logical topic and partition (one call)."""
        if not groups:
            return {}
        found = self._client().list_group_offsets({group: None for group in sorted(groups)})
        return {
            group: {
                (self.names.logical(tp.topic), tp.partition): meta.offset
                for tp, meta in offsets.items()
                if meta.offset >= 0 and self._ours(tp.topic)
            }
            for group, offsets in found.items()
        }

    def _ours(self, physical: str) -> bool:
        """A topic under this deployment's prefix (a group may read other prefixes' too)."""
        return self.names.physical(self.names.logical(physical)) == physical

    def _first_offsets(self, partitions: set[tuple[str, int]]) -> Offsets:
        """The first offset the broker still holds, per logical topic and partition."""
        if not partitions:
            return {}
        wanted = {
            TopicPartition(self.names.physical(topic), partition): OffsetSpec.EARLIEST
            for topic, partition in sorted(partitions)
        }
        found = self._client().list_partition_offsets(wanted)
        return {(self.names.logical(tp.topic), tp.partition): r.offset for tp, r in found.items()}

    def _write(self, receipts: list[Notice]) -> None:
        if not receipts:
            return
        client = producer(self.settings)
        name = self.names.physical(topics.ERASURES)
        try:
            for notice in receipts:
                value = self.codec.encode_for(topics.ERASURES, notice_value(notice, RECEIPT))
                client.send(name, key=record_key(RECEIPT, notice.topic, notice.key), value=value)
            client.flush(timeout=30)
        finally:
            client.close(timeout=5)


def install_erasure_tracker(app: Any, tracker: ErasureTracker, interval_s: float) -> None:
    """A timer on ``app``: the leader checks; any other worker exports no erasure series."""
    leading = [False]

    async def check_erasures() -> None:
        if app.is_leader() != leading[0]:
            leading[0] = not leading[0]
            log.info("erasure tracker: %s", "checking (leader)" if leading[0] else "idle")
        if not leading[0]:
            metrics.set_erasure_notices({})
            return
        try:
            found = await asyncio.to_thread(tracker.check)
        except Exception as exc:  # noqa: BLE001 - the next check tries again
            log.warning("erasure check failed (%s); trying again", type(exc).__name__)
            return
        metrics.set_erasure_notices(found)

    app.timer(interval=interval_s, name="purposegate.erasures")(check_erasures)
