"""One record's whole path, written once for every runner: check → merge in event time →
decide → records → send. The runners swap the source and the sinks; what lies between is here.

Three runners, one path (each stage: files | Kafka | memory):

- **source**: JSON lines (``dry-run``, ``diff-policy``, ``linkability``, the office's cases) |
  the five input topics, read by one Faust agent (``agents.inputs``; the worker, shadow mode) |
  sample lines in a list (``bench``).
- **check**: ``wire.input_lines.read_line``, the one door | :func:`check`: the codec's decode,
  then the same ``validate`` | ``read_line``.
- **merge in event time**: :class:`InOrder` over the file sorted by ``decision_order``
  (``wire.event_source``, an external sort) | ``agents.merge.Merger``: per partition, waits
  for the inputs that lag and gives each record its stream time | :class:`InOrder` over a
  list in the same order (``wire.event_source.in_decision_order``).
- **decide**: :class:`Decider`, the subject's state → ``policy.step.step`` → the state
  written; the same for all three (on the consent table, with the shadow policy, on Kafka).
- **records**: :func:`file_records` (JSON lines) | :func:`records_for`:
  :func:`kafka_records` (Avro, headers), the shadow's record, or a dead letter |
  :func:`kafka_records`.
- **send**: ``wire.jsonl.TopicFiles`` | ``agents.sending``: one batch per output
  topic-partition, each input acked once all its records are delivered | a list.

Every input ends as exactly one audit record (and its outputs), or as one dead letter: nothing
here raises for any input. On Kafka all records of one event are encoded before its state is
written and before anything is sent, so a fault never leaves half an event's outputs behind: an
event that fails goes to the DLQ and changes nothing (:func:`records_for`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from policy import topics
from policy.compile import CompiledPolicy
from policy.decision import Decision
from policy.diff import shadow_difference
from policy.forgetting import raised
from policy.ordering import Order, decision_order
from policy.state import EMPTY, SubjectState
from policy.step import step
from policy.validation import InputEvent, Invalid, validate
from wire.codec import Codec, DecodeError
from wire.deadletter import Fault, PipelineFault, dead_letter_record
from wire.event_source import in_decision_order
from wire.headers import (
    audit_header_bytes,
    dead_letter_headers,
    encoded,
    stamp_headers,
    tombstone_headers,
)
from wire.jsonl import record_line
from wire.registry import SchemaRegistryUnavailableError

log = logging.getLogger("purposegate.flow")

W = TypeVar("W", covariant=True)


# -- what the Kafka side sends ----------------------------------------------------------------


class NoticeOf(NamedTuple):
    """A tombstone's erasure notice, written once the broker has it (``agents.notices``)."""

    reason: str
    #: The input event (withdrawal or suspension) that sent it, as in the audit.
    event_id: str


@dataclass(frozen=True)
class Outgoing:
    """One record ready for the wire (bytes already encoded), on a logical topic."""

    topic: str
    key: bytes
    value: bytes | None
    headers: list[tuple[str, bytes]]
    dlq_kind: str | None = None
    #: A pseudonymised topic's record: its Kafka timestamp is the day it was sent, not the
    #: millisecond, so that it cannot be joined back to the named records of the same event.
    coarse_time: bool = False
    #: The partition to write to (None: the producer's partitioner over the key); given for a
    #: consent-table changelog record, whose ``topic`` is then the physical name.
    partition: int | None = None
    #: A tombstone: where it lands is recorded in ``purposegate.erasures`` before the ack.
    notice: NoticeOf | None = None


class TopicNaming(Protocol):
    def logical(self, physical: str) -> str: ...


class Counts(Protocol):
    """What the worker counts of each decision (``broker.metrics`` is one)."""

    def observe_decision(self, decision: Decision) -> None: ...

    def observe_shadow(self, differences: Iterable[Mapping[str, str]]) -> None: ...


class KafkaSide(Protocol):
    """What the Kafka source and sinks need (the worker's ``agents.runtime.Runtime``)."""

    @property
    def compiled(self) -> CompiledPolicy: ...

    @property
    def codec(self) -> Codec: ...

    @property
    def names(self) -> TopicNaming: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...


# -- 1. check ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Read:
    """One Kafka input record, checked once: a valid event, or the dead letter it becomes."""

    message: Any  # Faust's Message (or anything with topic, partition, offset, key, value)
    source: str  # the logical input topic
    checked: InputEvent | Outgoing  # the valid event, or its dead letter

    @property
    def order(self) -> Order | None:
        """When it is decided; None for a dead letter (it leaves without waiting)."""
        return decision_order(self.checked) if isinstance(self.checked, InputEvent) else None


def check(side: KafkaSide, message: Any) -> Read:
    """Decode and validate a Kafka record as it is read (once: the merge needs its
    ``event_time`` before it can be decided, and the checked event is kept)."""
    source = side.names.logical(message.topic)
    try:
        checked = _checked(side, message, source)
    except SchemaRegistryUnavailableError:
        raise  # an outage, not bad data: the worker stops unacked, the record is read again
    except Exception as exc:  # noqa: BLE001 - the stream goes on; the record goes to the DLQ
        checked = dead_letter(side, _internal_error(exc), source, message)
    return Read(message, source, checked)


def _checked(side: KafkaSide, message: Any, source: str) -> InputEvent | Outgoing:
    decoded = side.codec.decode(message.value)
    if isinstance(decoded, DecodeError):
        return dead_letter(side, decoded, source, message)
    spec = side.compiled.policy.inputs.get(source)
    expected = spec.record if spec is not None else None
    if decoded.name != expected:
        error = f"{source}: carries a {decoded.name} record, not {expected}"
        return dead_letter(side, Invalid(error, "wrong_type"), source, message)
    checked = validate(source, decoded.value, side.compiled, side.clock())
    if isinstance(checked, Invalid):
        # No event id header: the record's values are not validated, any of them may hold
        # anything (personal data included).
        return dead_letter(side, checked, source, message)
    if message.key != checked.customer_id.encode():
        error = (
            f"{source}: the Kafka key is not the record's customer_id (co-partitioning needs it)"
        )
        fault = PipelineFault(error, "key_mismatch")
        return dead_letter(side, fault, source, message, checked.event_id)
    return checked


# -- 2. merge in event time -------------------------------------------------------------------
# On Kafka: ``agents.merge.Merger`` (records arrive per topic-partition; the merge waits for the
# inputs that lag and says each record's stream time). From a sorted source: :class:`InOrder`.


# -- 3. decide --------------------------------------------------------------------------------


class States(Protocol[W]):
    """Where subjects' states live, per input partition: a dict (files, memory) or the consent
    table (Kafka). Each write returns what the caller waits for (the table's changelog write;
    None in memory). A partition also keeps its forgetting horizon (``policy.forgetting``)."""

    def get(self, partition: int, customer_id: str) -> SubjectState: ...

    def put(self, partition: int, customer_id: str, state: SubjectState | None) -> W: ...

    def horizon(self, partition: int) -> datetime | None: ...

    def put_horizon(self, partition: int, horizon: datetime) -> W: ...


class MemoryStates:
    """Every subject's state in a dict (the partition does not matter: one stream)."""

    def __init__(self) -> None:
        self.states: dict[str, SubjectState] = {}
        self.horizons: dict[int, datetime] = {}

    def get(self, partition: int, customer_id: str) -> SubjectState:
        return self.states.get(customer_id, EMPTY)

    def put(self, partition: int, customer_id: str, state: SubjectState | None) -> None:
        if state is None:
            self.states.pop(customer_id, None)
        else:
            self.states[customer_id] = state

    def horizon(self, partition: int) -> datetime | None:
        return self.horizons.get(partition)

    def put_horizon(self, partition: int, horizon: datetime) -> None:
        self.horizons[partition] = horizon


@dataclass(slots=True)
class Stepped:
    """One event decided, its state not yet written (:meth:`Decider.keep`)."""

    event: InputEvent
    partition: int
    stream_time: datetime | None
    state: SubjectState
    new_state: SubjectState
    horizon: datetime | None
    decision: Decision


class Decider(Generic[W]):
    """The one place ``step`` is called for a stream: each event against its subject's state,
    the stream time before it and its partition's forgetting horizon; then the state written."""

    def __init__(
        self, compiled: CompiledPolicy, states: States[W], shadow: CompiledPolicy | None = None
    ) -> None:
        self.compiled = compiled
        self.states = states
        self.shadow = shadow

    def step(self, event: InputEvent, partition: int, stream_time: datetime | None) -> Stepped:
        """Decide ``event`` (``stream_time``: the latest ``event_time`` decided before it on
        its partition); nothing is written yet."""
        state = self.states.get(partition, event.customer_id)
        horizon = self.states.horizon(partition)
        new_state, decision = step(event, state, self.compiled, stream_time, horizon)
        return Stepped(event, partition, stream_time, state, new_state, horizon, decision)

    def keep(self, stepped: Stepped) -> list[W]:
        """Write what ``stepped`` changed (a state equal to the one before is not written: on
        Kafka a write is a changelog record). Returns the writes to wait for."""
        writes = self._write(
            stepped.partition,
            stepped.event.customer_id,
            stepped.state,
            stepped.new_state,
            stepped.horizon,
            stepped.decision.forgotten,
            unless_equal=True,
        )
        return [write for write in writes if write is not None]

    def decide(self, event: InputEvent, partition: int, stream_time: datetime | None) -> Decision:
        """:meth:`step` then :meth:`keep` in one, for a runner that waits for no write (files,
        memory): no ``Stepped``, and a changed state is written as it is, without asking whether
        it is equal to the one before (a write costs a dict entry here)."""
        state = self.states.get(partition, event.customer_id)
        horizon = self.states.horizon(partition)
        new_state, decision = step(event, state, self.compiled, stream_time, horizon)
        self._write(
            partition, event.customer_id, state, new_state, horizon, decision.forgotten,
            unless_equal=False,
        )  # fmt: skip
        return decision

    def _write(
        self,
        partition: int,
        customer_id: str,
        state: SubjectState,
        new_state: SubjectState,
        horizon: datetime | None,
        forgotten: datetime | None,
        *,
        unless_equal: bool,
    ) -> list[W | None]:
        """The horizon first when the subject is forgotten (it must cover the forgotten change
        before the key is gone), then the state or its deletion."""
        writes: list[W | None] = []
        if forgotten is not None:
            new_horizon = raised(horizon, forgotten)
            if new_horizon != horizon:
                writes.append(self.states.put_horizon(partition, new_horizon))
        if new_state is EMPTY:
            if state is not EMPTY:
                writes.append(self.states.put(partition, customer_id, None))
        elif new_state is not state and not (unless_equal and new_state == state):
            writes.append(self.states.put(partition, customer_id, new_state))
        return writes

    def shadowed(self, stepped: Stepped) -> dict[str, Any] | None:
        """The shadow policy's difference for this event (``policy.diff``), if any."""
        if self.shadow is None:
            return None
        return shadow_difference(
            stepped.event, stepped.state, self.shadow, stepped.stream_time, stepped.decision
        )


class InOrder:
    """A source already in decision order (a sorted file, a sorted list): one stream, whose
    stream time is the latest ``event_time`` decided so far (in decision order no state change
    is ever late, and no grant ever refused by the horizon)."""

    def __init__(self, compiled: CompiledPolicy) -> None:
        self.decider: Decider[None] = Decider(compiled, MemoryStates())
        self.stream_time: datetime | None = None

    def decide(self, event: InputEvent) -> Decision:
        """The decision about ``event``, the next in decision order."""
        decision = self.decider.decide(event, 0, self.stream_time)
        if self.stream_time is None or event.event_time > self.stream_time:
            self.stream_time = event.event_time
        return decision


def decide_in_order(
    events: Iterable[tuple[int, InputEvent]], compiled: CompiledPolicy
) -> Iterator[tuple[int, Decision]]:
    """Each ``(position, event)``'s decision, in decision order (``wire.event_source``: the
    dry-run's sort), every subject's state carried from one to the next."""
    run = InOrder(compiled)
    for position, event in in_decision_order(events):
        yield position, run.decide(event)


# -- 4. records -------------------------------------------------------------------------------


class FileRecord(NamedTuple):
    """One record of a decision as a JSON line of ``DIR/<topic>.jsonl``."""

    topic: str
    line: str
    kind: str  # "output", "tombstone" or "audit"


def file_records(decision: Decision) -> list[FileRecord]:
    """A decision's records as ``dry-run`` writes them: outputs, tombstones, the audit."""
    out = [
        FileRecord(o.topic, record_line(o.topic, o.key, o.value), "output")
        for o in decision.outputs
    ]
    for tombstone in decision.tombstones:
        headers = tombstone_headers(tombstone.reason, tombstone.event_id, decision.policy_version)
        line = record_line(tombstone.topic, tombstone.key, None, headers)
        out.append(FileRecord(tombstone.topic, line, "tombstone"))
    audit = record_line(topics.AUDIT, decision.customer_id, decision.audit_record())
    out.append(FileRecord(topics.AUDIT, audit, "audit"))
    return out


def kafka_records(codec: Codec, decision: Decision) -> list[Outgoing]:
    """A decision's records as the worker sends them (the bench encodes the same): outputs,
    tombstones (each with its erasure notice to write), the audit record; Avro, with headers."""
    out = [
        Outgoing(
            output.topic,
            output.key.encode(),
            codec.encode_for(output.topic, output.value),
            stamp_headers(output.value),
            coarse_time=output.coarse_time,
        )
        for output in decision.outputs
    ]
    for tombstone in decision.tombstones:
        # the tombstone's own event id: keyed like its topic's records on a pseudonymised one
        headers = tombstone_headers(tombstone.reason, tombstone.event_id, decision.policy_version)
        out.append(
            Outgoing(
                tombstone.topic,
                tombstone.key.encode(),
                None,
                encoded(headers),
                coarse_time=tombstone.coarse_time,
                notice=NoticeOf(tombstone.reason, decision.event_id),
            )
        )
    audit = codec.encode_audit(decision)  # the bytes of encode_for(AUDIT, audit_record())
    stamp = audit_header_bytes(decision.event_id, decision.policy_version, decision.source_topic)
    out.append(Outgoing(topics.AUDIT, decision.customer_id.encode(), audit, stamp))
    return out


def records_for(
    side: KafkaSide,
    decider: Decider[W],
    read: Read,
    stream_time: datetime | None,
    counts: Counts,
) -> tuple[list[Outgoing], list[W]]:
    """Everything a checked Kafka record turns into, encoded, and the state writes it made
    (none when it goes to the DLQ); the decision counted. ``stream_time``: the latest
    ``event_time`` decided before this record on its partition."""
    if isinstance(read.checked, Outgoing):
        return [read.checked], []
    message = read.message
    try:
        stepped = decider.step(read.checked, message.partition, stream_time)
        records = kafka_records(side.codec, stepped.decision)
        records += _shadow_records(side, decider, stepped, counts)
    except Exception as exc:  # noqa: BLE001 - the stream goes on; the event goes to the DLQ
        fault = _internal_error(exc)
        return [dead_letter(side, fault, read.source, message, read.checked.event_id)], []
    writes = decider.keep(stepped)
    counts.observe_decision(stepped.decision)
    return records, writes


def _shadow_records(
    side: KafkaSide, decider: Decider[Any], stepped: Stepped, counts: Counts
) -> list[Outgoing]:
    """The shadow policy's difference for this event, if any. A fault in the shadow never
    touches the event: it is logged (its type only) and the shadow record is skipped."""
    if decider.shadow is None:
        return []
    try:
        value = decider.shadowed(stepped)
        encoded_value = None if value is None else side.codec.encode_for(topics.SHADOW, value)
    except Exception as exc:  # noqa: BLE001 - the policy in force's records go on regardless
        log.warning("shadow policy could not decide an event (%s)", type(exc).__name__)
        return []
    if value is None or encoded_value is None:
        return []
    counts.observe_shadow(value["differences"])
    decision = stepped.decision
    stamp = audit_header_bytes(decision.event_id, decision.policy_version, decision.source_topic)
    return [Outgoing(topics.SHADOW, decision.customer_id.encode(), encoded_value, stamp)]


def dead_letter(
    side: KafkaSide, fault: Fault, source: str, message: Any, event_id: object = None
) -> Outgoing:
    """The DLQ record of a Kafka input (``message``, read from logical topic ``source``)."""
    record = dead_letter_record(
        fault, source, message.partition, message.offset, message.value, datetime.now(UTC)
    )
    value = side.codec.encode_for(topics.DLQ, record)
    version = side.compiled.policy_version
    headers = encoded(dead_letter_headers(fault.error_kind, version, source, event_id))
    return Outgoing(topics.DLQ, message.key or b"", value, headers, dlq_kind=fault.error_kind)


def _internal_error(exc: Exception) -> PipelineFault:
    # The exception's text may quote a field value: only its type goes out.
    error = f"internal error while processing ({type(exc).__name__}); nothing forwarded"
    return PipelineFault(error, "internal_error")
