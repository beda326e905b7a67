"""What one input record becomes: ``check`` when it is read, ``records_for`` when it is decided.

``check`` decodes and validates a record once, as soon as it is read, because the event-time
merge needs its ``event_time`` before it can be decided (the checked event is kept, never decoded
twice). ``records_for`` decides it against the customer's state and encodes everything it
produces. Every input ends as exactly one audit record (and its outputs), or as one DLQ record:
neither function raises for any input. All records of one event are encoded before the state is
written and before anything is sent, so a fault never leaves half an event's outputs behind: an
event that fails here goes to the DLQ and changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from agents.runtime import Outgoing, Runtime
from policy.engine import Decision
from policy.ordering import Order, decision_order
from policy.state import SubjectState
from policy.step import step
from policy.validation import InputEvent, Invalid, dead_letter_record, validate
from streams import metrics, topics
from streams.avro import DecodeError, stamp_headers
from streams.avro.store import AUDIT_RECORD, DLQ_RECORD, INPUT_RECORDS


def logical_topic(physical: str, prefix: str) -> str:
    return physical[len(prefix) :] if prefix and physical.startswith(prefix) else physical


class ConsentStates(Protocol):
    """The consent table as the pipeline uses it: read a customer's state, write it for the
    input partition of the record being decided (returns the changelog write to wait for)."""

    def get(self, key: bytes) -> bytes | None: ...

    def put(self, partition: int, key: bytes, value: bytes) -> Awaitable[Any] | None: ...


@dataclass(frozen=True, slots=True)
class Read:
    """One input record, checked once: a valid event, or the dead letter it becomes."""

    message: Any  # Faust's Message (or anything with topic, partition, offset, key, value)
    source: str  # the logical input topic
    checked: InputEvent | Outgoing  # the valid event, or its dead letter

    @property
    def order(self) -> Order | None:
        """When it is decided; None for a dead letter (it leaves without waiting)."""
        return decision_order(self.checked) if isinstance(self.checked, InputEvent) else None


def check(rt: Runtime, message: Any) -> Read:
    """Decode and validate a record as it is read."""
    source = logical_topic(message.topic, rt.settings.topic_prefix)
    try:
        checked = _checked(rt, message, source)
    except Exception as exc:  # noqa: BLE001 - the stream goes on; the record goes to the DLQ
        checked = _internal_error(rt, message, source, exc)
    return Read(message, source, checked)


def _checked(rt: Runtime, message: Any, source: str) -> InputEvent | Outgoing:
    where = (source, message.partition, message.offset, message.value)
    decoded = rt.codec.decode(message.value)
    if isinstance(decoded, DecodeError):
        return _dead_letter(rt, decoded.dlq_record(*where), message.key)
    expected = INPUT_RECORDS.get(source)
    if decoded.name != expected:
        error = f"{source}: carries a {decoded.name} record, not {expected}"
        return _fault(rt, message, source, error, "wrong_type")
    checked = validate(source, decoded.value, rt.compiled)
    if isinstance(checked, Invalid):
        return _dead_letter(rt, checked.dlq_record(*where), message.key)
    if message.key != checked.customer_id.encode():
        error = (
            f"{source}: the Kafka key is not the record's customer_id (co-partitioning needs it)"
        )
        return _fault(rt, message, source, error, "key_mismatch")
    return checked


def records_for(
    rt: Runtime, states: ConsentStates, read: Read, stream_time: datetime | None
) -> tuple[list[Outgoing], list[Awaitable[Any]]]:
    """Everything a checked record turns into, encoded, and the state writes it made.

    ``stream_time``: the latest ``event_time`` decided before this record on its partition.
    """
    if isinstance(read.checked, Outgoing):
        return [read.checked], []
    message = read.message
    try:
        state = _state_of(states, message.key)
        new_state, decision = step(read.checked, state, rt.compiled, stream_time)
        records = _decision_records(rt, decision)
    except Exception as exc:  # noqa: BLE001 - the stream goes on; the event goes to the DLQ
        return [_internal_error(rt, message, read.source, exc)], []
    writes: list[Awaitable[Any]] = []
    if new_state != state:
        write = states.put(message.partition, message.key, new_state.to_json().encode())
        writes = [write] if write is not None else []
    metrics.observe_decision(decision)
    return records, writes


def _state_of(states: ConsentStates, key: bytes) -> SubjectState:
    stored = states.get(key)
    return SubjectState.from_json(stored) if stored else SubjectState.empty()


def _dead_letter(rt: Runtime, record: dict[str, Any], key: bytes | None) -> Outgoing:
    record.setdefault("received_time", datetime.now(UTC))
    kind = str(record["error_kind"])
    headers = [("purposegate-error-kind", kind.encode())]
    value = rt.codec.encode(DLQ_RECORD, record)
    return Outgoing(topics.DLQ, key or b"", value, headers, dlq_kind=kind)


def _decision_records(rt: Runtime, decision: Decision) -> list[Outgoing]:
    out: list[Outgoing] = []
    for output in decision.outputs:
        out.append(
            Outgoing(
                output.topic,
                output.key.encode(),
                rt.codec.encode_output(output.topic, output.value),
                stamp_headers(output.value),
            )
        )
    for tombstone in decision.tombstones:
        headers = [
            ("purposegate-erasure-reason", tombstone.reason.encode()),
            ("purposegate-event-id", decision.event_id.encode()),
            ("purposegate-policy-version", decision.policy_version.encode()),
        ]
        out.append(Outgoing(tombstone.topic, tombstone.key.encode(), None, headers))
    audit = decision.audit_record()
    out.append(
        Outgoing(
            topics.AUDIT,
            decision.customer_id.encode(),
            rt.codec.encode(AUDIT_RECORD, audit),
            [("purposegate-event-id", decision.event_id.encode())],
        )
    )
    return out


def _fault(rt: Runtime, message: Any, source: str, error: str, kind: str) -> Outgoing:
    """A dead letter for a fault the pipeline itself finds (not the codec, not validation)."""
    record = dead_letter_record(
        source, message.partition, message.offset, error, kind, message.value
    )
    return _dead_letter(rt, record, message.key)


def _internal_error(rt: Runtime, message: Any, source: str, exc: Exception) -> Outgoing:
    # The exception's text may quote a field value: only its type goes out.
    error = f"internal error while processing ({type(exc).__name__}); nothing forwarded"
    return _fault(rt, message, source, error, "internal_error")
