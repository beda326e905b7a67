"""The consent table's bulk restore: its changelog read with a plain consumer before recovery.

Faust's own changelog recovery goes through its whole per-message path (fetcher, conductor,
one event and task per record, ``need_recovery`` per batch): ~4.4k records/s here, 227 s for a
million subjects on a fresh machine. A plain aiokafka consumer (no group: assign, seek to the
beginning, ``getmany`` in large batches) reads the same changelog ~10× faster.

:class:`BulkRestoreStore` is Faust's in-memory store that does that read itself. Faust calls
``Store.on_rebalance`` (``TableManager.on_rebalance``, table by table) *before*
``Recovery.on_rebalance`` asks ``table.persisted_offset(tp)`` where each changelog partition's
recovery starts. So when active changelog partitions are newly assigned, the store reads them
from the beginning to their end, applies every record to ``self.data`` (a tombstone deletes,
as Faust's ``apply_changelog_batch`` does; ``_key_partition`` kept as Faust keeps it) and
answers ``persisted_offset`` with the last offset read: Faust's recovery then reads only what
was written after (usually nothing). A partition no longer active (revoked, or now a standby)
is forgotten: its offset and its keys (those the agent wrote too, :func:`write_live`), so a
later assignment reads it again. Standby
partitions are left to Faust. The app selects the store with :data:`STORE_URL`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any, Final, TypeAlias

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError, KafkaTimeoutError
from faust.stores import STORES
from faust.stores.memory import Store as MemoryStore
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth, server_list
from faust.types import TP

from broker.faust_internals import key_partitions

__all__ = ["STORE_URL", "BulkRestoreStore", "apply_records", "write_live"]

log = logging.getLogger(__name__)

#: ``faust.App(store=...)``: Faust's in-memory store with the bulk restore.
STORE_URL: Final = "bulkmemory://"
STORES.aliases.setdefault("bulkmemory", f"{__name__}:BulkRestoreStore")

Records: TypeAlias = Iterable[tuple[Any, "bytes | None"]]
#: ``apply(partition, records)``: one batch of one changelog partition, in offset order.
Applier: TypeAlias = Callable[[int, Records], None]

#: Records per ``getmany`` and bytes per partition fetch: large batches, bounded memory.
BATCH_RECORDS: Final = 50_000
PARTITION_FETCH_BYTES: Final = 8 * 1024 * 1024
#: How long one ``getmany`` waits for data before the end offsets are checked again (ms).
FETCH_WAIT_MS: Final = 1_000
#: A read whose positions do not move for this long gives up (Faust's recovery reads instead).
STALL_S: Final = 30.0


def apply_records(
    data: MutableMapping[Any, Any],
    key_partition: MutableMapping[Any, int],
    partition: int,
    records: Records,
) -> None:
    """Apply changelog records ``(key, value)`` of ``partition`` in order to ``data``: the
    last value of a key wins, ``None`` (a tombstone) deletes it; ``key_partition`` says which
    partition each key of ``data`` came from (Faust's memory store drops keys by it)."""
    for key, value in records:
        if value is None:
            data.pop(key, None)
            key_partition.pop(key, None)
        else:
            data[key] = value
            key_partition[key] = partition


def write_live(store: MutableMapping[Any, Any], partition: int, key: Any, value: Any) -> None:
    """The agent's own write to ``store`` (None: delete), applied as a changelog record is
    (:func:`apply_records`): a Faust memory store (this module's or Faust's own) also notes the
    key's partition, so the key goes from memory when that partition is revoked. Without the
    note a key written here outlived the revocation, and its value a delete made meanwhile by
    the partition's next owner once compaction dropped the tombstone."""
    key_partition = key_partitions(store)
    noted = {} if key_partition is None else key_partition  # a plain dict notes nothing
    apply_records(store, noted, partition, ((key, value),))


class BulkRestoreStore(MemoryStore[bytes, bytes]):
    """Faust's in-memory store whose active changelog partitions are read in bulk at
    assignment (see the module docstring)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        #: Active changelog partition → the offset up to which ``data`` holds it.
        self._restored: dict[TP, int] = {}

    def persisted_offset(self, tp: TP) -> int | None:
        return self._restored.get(tp)

    async def on_rebalance(
        self,
        assigned: set[TP],
        revoked: set[TP],
        newly_assigned: set[TP],
        generation_id: int = 0,
    ) -> None:
        app: Any = self.app
        changelog = self.table.changelog_topic.get_topic_name()
        actives = {tp for tp in app.assignor.assigned_actives() if tp.topic == changelog}
        self._forget(set(self._restored) - actives)
        if generation_id != app.consumer_generation_id:
            return  # rebalancing again: the next call restores
        missing = actives - set(self._restored)
        if missing:
            # whatever a standby left of these partitions goes: the read starts clean
            self._drop_keys({tp.partition for tp in missing})
            await self._restore(sorted(missing))

    def _forget(self, tps: set[TP]) -> None:
        """The partitions are not active here any more: their offsets and keys go."""
        for tp in tps:
            del self._restored[tp]
        if tps:
            self._drop_keys({tp.partition for tp in tps})

    def _drop_keys(self, partitions: set[int]) -> None:
        noted = key_partitions(self) or {}
        gone = [key for key, p in noted.items() if p in partitions]
        for key in gone:
            self.data.pop(key, None)
            del noted[key]

    async def _restore(self, tps: list[TP]) -> None:
        consumer = AIOKafkaConsumer(**self._consumer_config())
        try:
            await consumer.start()
            ends = await _read_to_end(consumer, tps, self._apply)
        except (KafkaError, OSError) as exc:
            # Faust's own recovery reads these partitions from their beginning instead
            log.warning("Bulk restore failed (%s): Faust's recovery reads the changelog", exc)
            self._drop_keys({tp.partition for tp in tps})
            return
        finally:
            await consumer.stop()
        for tp in tps:
            if ends[tp.partition] > 0:
                self._restored[tp] = ends[tp.partition] - 1  # all below the end is in `data`
        log.info(
            "Bulk restore: %d changelog partition(s), %d keys in the table",
            len(tps),
            len(self.data),
        )

    def _apply(self, partition: int, records: Records) -> None:
        apply_records(self.data, key_partitions(self) or {}, partition, records)

    def _consumer_config(self) -> dict[str, Any]:
        conf: Any = self.app.conf
        transport: Any = self.app.transport
        return {
            "bootstrap_servers": server_list(transport.url, transport.default_port),
            "client_id": conf.broker_client_id,
            "group_id": None,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "max_partition_fetch_bytes": PARTITION_FETCH_BYTES,
            "request_timeout_ms": int(conf.broker_request_timeout * 1000),
            # the same protocol, SASL and TLS as Faust's own consumer
            **credentials_to_aiokafka_auth(conf.broker_credentials, conf.ssl_context),
        }


async def _read_to_end(
    consumer: AIOKafkaConsumer, tps: list[TP], apply: Applier, stall_s: float = STALL_S
) -> dict[int, int]:
    """Read ``tps`` (one topic) from their beginning to their end offset (taken now) with
    ``consumer``, handing each batch to ``apply``; returns the end offset per partition.
    Raises ``KafkaTimeoutError`` when no position moved for ``stall_s`` (the broker went away
    mid-read: Faust's own recovery takes over, rather than a rebalance that never ends)."""
    parts = [TopicPartition(tp.topic, tp.partition) for tp in tps]
    consumer.assign(parts)
    ends = {tp.partition: end for tp, end in (await consumer.end_offsets(parts)).items()}
    await consumer.seek_to_beginning(*parts)
    pending = set(parts)
    seen: dict[TopicPartition, int] = {}
    moved_at = time.monotonic()
    while True:
        for tp in list(pending):
            position = await consumer.position(tp)
            if seen.get(tp) != position:
                seen[tp], moved_at = position, time.monotonic()
            if position >= ends[tp.partition]:
                pending.discard(tp)
        if not pending:
            return ends
        if time.monotonic() - moved_at > stall_s:
            raise KafkaTimeoutError(f"the changelog read made no progress for {stall_s:g} s")
        batches = await consumer.getmany(
            *pending, timeout_ms=FETCH_WAIT_MS, max_records=BATCH_RECORDS
        )
        for tp, records in batches.items():
            end = ends[tp.partition]
            apply(tp.partition, [(r.key, r.value) for r in records if r.offset < end])
