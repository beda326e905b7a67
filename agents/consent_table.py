"""The consent table as the agent writes it: state written for the input partition of the
record decided, explicitly (Faust's tables take the partition of a write from the *current
event*, which the event-time merge makes another record than the one being decided), and the
changelog write returned, so that the record is acked only once it is delivered. Beside the
subjects' states, each partition keeps its forgetting horizon and its stream mark (how far it
was decided), so that both survive a restart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from agents.refusals import REFUSED_KEY, Refusals
from broker.restore import write_live
from flow.path import Outgoing
from policy.state import EMPTY, SubjectState

#: The key of a partition's forgetting horizon in the consent table: not UTF-8, so never a
#: customer id (those are UTF-8 strings).
HORIZON_KEY: Final = b"\xffpurposegate-forgetting-horizon:%d"
#: The key of a partition's stream mark (:class:`StreamMark`): not UTF-8 either.
STREAM_MARK_KEY: Final = b"\xffpurposegate-stream-mark:%d"
#: Every key a partition keeps of its own (its refusal counts: ``agents.refusals``).
PARTITION_KEYS: Final = (HORIZON_KEY, STREAM_MARK_KEY, REFUSED_KEY)
#: Subjects whose decoded state is kept beside the table's bytes (``FaustStates.get``): about
#: 1.5 KB each (the bytes are the table's own), ~48 MiB in all; beyond, all are forgotten and
#: decoded again on their next event.
DECODED_SIZE: Final = 32_768


@dataclass
class StreamMark:
    """How far a partition was decided: its stream time (the latest ``event_time`` decided on
    it) and, per input topic (logical name), the offset of the last record decided. A worker
    that takes the partition over decides the records past those offsets with that stream time
    (a change dated before it is late, as it would have been without the restart); the records
    at or before them were decided already and are read again only after a crash."""

    time: datetime | None = None
    offsets: dict[str, int] = field(default_factory=dict)

    def covers(self, topic: str, offset: int) -> bool:
        """Whether the record at ``offset`` of ``topic`` was decided before this mark."""
        return offset <= self.offsets.get(topic, -1)

    def passed(self, topic: str, offset: int, event_time: datetime | None) -> None:
        """The record at ``offset`` of ``topic`` (its ``event_time``, None for a dead letter)
        is decided."""
        if offset > self.offsets.get(topic, -1):
            self.offsets[topic] = offset
        if event_time is not None and (self.time is None or event_time > self.time):
            self.time = event_time

    def to_bytes(self) -> bytes:
        time = None if self.time is None else self.time.isoformat()
        return json.dumps({"time": time, "offsets": self.offsets}, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, stored: bytes) -> StreamMark:
        document = json.loads(stored)
        time = document["time"]
        offsets = {str(topic): int(offset) for topic, offset in document["offsets"].items()}
        return cls(None if time is None else datetime.fromisoformat(time), offsets)


class DeferredWrite:
    """A changelog write handed to the producer later (:meth:`FaustStates.take_deferred`),
    with the owner (the input's ack ticket) its delivery counts for."""

    __slots__ = ("key", "owner", "partition", "value")

    def __init__(self, partition: int, key: bytes, value: bytes | None) -> None:
        self.partition, self.key, self.value = partition, key, value
        self.owner: Any = None


class FaustStates:
    """The consent table as the flow's ``States`` (``flow.path``): state written for the input
    partition of the record decided, keyed by the customer id's bytes (the Kafka key), as JSON;
    one extra key per partition holds its forgetting horizon (``policy.forgetting``), restored
    from the changelog with the rest.

    The table's dict changes at once (the next decision reads it), but the changelog records
    wait in :attr:`deferred` until :meth:`take_deferred`: the agent hands them to the producer
    once the outputs of the same decisions are delivered (``agents.state_after_outputs``), so
    that the broker never has a state whose outputs it might not get (a worker killed in
    between would decide those inputs again from that state, and a withdrawal decided again
    owes no tombstone any more). Not through Faust's ``send_changelog``: its producer buffer
    makes the fetch wait (``wait_until_ebb`` in the conductor) until it drains one record at a
    time, which starves the event-time merge of the records it waits for.

    The table holds bytes (what the changelog holds, restored as they are); the states last
    read or written are also kept decoded (:data:`DECODED_SIZE`), each with the very bytes
    object it was decoded from or encoded to. A state is taken from there only while the table
    still holds that same object: a restore, a revocation or any other write puts another
    object there (or none), and the bytes are then decoded again."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.deferred: list[DeferredWrite] = []
        self._decoded: dict[bytes, tuple[bytes, SubjectState]] = {}

    def get(self, partition: int, customer_id: str) -> SubjectState:
        key = customer_id.encode()
        stored = self._stored(key)
        if not stored:
            return EMPTY
        decoded = self._decoded.get(key)
        if decoded is not None and decoded[0] is stored:
            return decoded[1]
        state = SubjectState.from_json(stored)
        self._remember(key, stored, state)
        return state

    def put(self, partition: int, customer_id: str, state: SubjectState | None) -> DeferredWrite:
        """Write the subject's state (None: forget the subject)."""
        key = customer_id.encode()
        if state is None:
            self._decoded.pop(key, None)
            return self._write(partition, key, None)
        value = state.to_json().encode()
        self._remember(key, value, state)
        return self._write(partition, key, value)

    def _remember(self, key: bytes, stored: bytes, state: SubjectState) -> None:
        decoded = self._decoded
        if len(decoded) >= DECODED_SIZE and key not in decoded:
            decoded.clear()
        decoded[key] = (stored, state)

    def _stored(self, key: bytes) -> bytes | None:
        # the store itself: the table's own get() also calls every sensor, once per event
        value: bytes | None = self.table.data.get(key)
        return value

    def _write(self, partition: int, key: bytes, value: bytes | None) -> DeferredWrite:
        """Write the state (None: delete the key) to the table now; its changelog record
        (a tombstone for None) waits for :meth:`take_deferred`."""
        write_live(self.table.data, partition, key, value)  # the key's partition noted too
        write = DeferredWrite(partition, key, value)
        self.deferred.append(write)
        return write

    def changelog_topic(self) -> str:
        """The table's changelog topic (physical name)."""
        name: str = self.table.changelog_topic.get_topic_name()
        return name

    def write_now(self, partition: int, key: bytes, value: bytes | None) -> Outgoing:
        """Write a key of the partition's own to the table now; its changelog record, to send
        at once (not after any decision's outputs: ``agents.refusals``)."""
        write_live(self.table.data, partition, key, value)
        return Outgoing(self.changelog_topic(), key, value, [], partition=partition)

    def take_deferred(self) -> list[tuple[Outgoing, Any]]:
        """The waiting changelog records, in the order written, each with its owner: records
        of the table's changelog topic (physical name) on the partition they were decided on."""
        writes, self.deferred = self.deferred, []
        topic = self.table.changelog_topic.get_topic_name()
        return [
            (Outgoing(topic, write.key, write.value, [], partition=write.partition), write.owner)
            for write in writes
        ]

    def drop_deferred(self) -> list[DeferredWrite]:
        """Forget the waiting changelog records (their decisions' outputs were not handed
        over: the worker stops, and the next one decides those inputs again)."""
        writes, self.deferred = self.deferred, []
        return writes

    def horizon(self, partition: int) -> datetime | None:
        stored = self._stored(HORIZON_KEY % partition)
        return datetime.fromisoformat(stored.decode()) if stored else None

    def put_horizon(self, partition: int, horizon: datetime) -> DeferredWrite:
        return self._write(partition, HORIZON_KEY % partition, horizon.isoformat().encode())

    def stream_mark(self, partition: int) -> StreamMark | None:
        stored = self._stored(STREAM_MARK_KEY % partition)
        return StreamMark.from_bytes(stored) if stored else None

    def put_stream_mark(self, partition: int, mark: StreamMark) -> DeferredWrite:
        return self._write(partition, STREAM_MARK_KEY % partition, mark.to_bytes())

    def refusals(self, partition: int) -> Refusals:
        return Refusals.from_bytes(self._stored(REFUSED_KEY % partition))

    def put_refusals(self, partition: int, refusals: Refusals) -> DeferredWrite:
        return self._write(partition, REFUSED_KEY % partition, refusals.to_bytes())

    def subjects(self) -> int:
        """How many subjects the table holds (a partition's own keys are not)."""
        data = self.table.data
        partitions = range(self.table.partitions or 0)
        kept = sum(1 for p in partitions for key in PARTITION_KEYS if key % p in data)
        return len(data) - kept
