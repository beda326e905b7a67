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

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from agents.runtime import NoticeOf, Outgoing, Runtime
from broker import metrics
from policy import topics
from policy.decision import Decision
from policy.diff import shadow_difference
from policy.forgetting import raised
from policy.ordering import Order, decision_order
from policy.state import EMPTY, SubjectState
from policy.step import step
from policy.validation import InputEvent, Invalid, validate
from wire.codec import DecodeError
from wire.deadletter import Fault, PipelineFault, dead_letter_record
from wire.headers import (
    audit_header_bytes,
    dead_letter_headers,
    encoded,
    stamp_headers,
    tombstone_headers,
)
from wire.registry import SchemaRegistryUnavailableError

log = logging.getLogger("purposegate.agents")


class ConsentStates(Protocol):
    """The consent table as the pipeline uses it: read a customer's state, write or delete it
    for the input partition of the record being decided, and keep that partition's forgetting
    horizon (``policy.forgetting``); each write returns the changelog write to wait for."""

    def get(self, key: bytes) -> bytes | None: ...

    def put(self, partition: int, key: bytes, value: bytes | None) -> Any: ...

    def horizon(self, partition: int) -> datetime | None: ...

    def put_horizon(self, partition: int, horizon: datetime) -> Any: ...


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
    source = rt.names.logical(message.topic)
    try:
        checked = _checked(rt, message, source)
    except SchemaRegistryUnavailableError:
        raise  # an outage, not bad data: the worker stops unacked, the record is read again
    except Exception as exc:  # noqa: BLE001 - the stream goes on; the record goes to the DLQ
        checked = _dead_letter(rt, _internal_error(exc), source, message)
    return Read(message, source, checked)


def _checked(rt: Runtime, message: Any, source: str) -> InputEvent | Outgoing:
    decoded = rt.codec.decode(message.value)
    if isinstance(decoded, DecodeError):
        return _dead_letter(rt, decoded, source, message)
    spec = rt.compiled.policy.inputs.get(source)
    expected = spec.record if spec is not None else None
    if decoded.name != expected:
        error = f"{source}: carries a {decoded.name} record, not {expected}"
        return _dead_letter(rt, Invalid(error, "wrong_type"), source, message)
    checked = validate(source, decoded.value, rt.compiled, rt.clock())
    if isinstance(checked, Invalid):
        # No event id header: the record's values are not validated, any of them may hold
        # anything (personal data included).
        return _dead_letter(rt, checked, source, message)
    if message.key != checked.customer_id.encode():
        error = (
            f"{source}: the Kafka key is not the record's customer_id (co-partitioning needs it)"
        )
        fault = PipelineFault(error, "key_mismatch")
        return _dead_letter(rt, fault, source, message, checked.event_id)
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
        horizon = states.horizon(message.partition)
        new_state, decision = step(read.checked, state, rt.compiled, stream_time, horizon)
        records = _decision_records(rt, decision)
        records += _shadow_records(rt, read.checked, state, stream_time, decision)
    except Exception as exc:  # noqa: BLE001 - the stream goes on; the event goes to the DLQ
        fault = _internal_error(exc)
        return [_dead_letter(rt, fault, read.source, message, read.checked.event_id)], []
    writes = _state_writes(states, message, state, new_state, decision.forgotten, horizon)
    metrics.observe_decision(decision)
    return records, writes


def _state_writes(
    states: ConsentStates,
    message: Any,
    state: SubjectState,
    new_state: SubjectState,
    forgotten: datetime | None,
    horizon: datetime | None,
) -> list[Awaitable[Any]]:
    """The table writes of one decision: the horizon first when the subject is forgotten (it
    must cover the forgotten change before the key is gone), then the state or its deletion."""
    writes: list[Awaitable[Any] | None] = []
    if forgotten is not None:
        new_horizon = raised(horizon, forgotten)
        if new_horizon != horizon:
            writes.append(states.put_horizon(message.partition, new_horizon))
    if new_state is EMPTY:
        if state is not EMPTY:
            writes.append(states.put(message.partition, message.key, None))
    elif new_state is not state and new_state != state:
        writes.append(states.put(message.partition, message.key, new_state.to_json().encode()))
    return [write for write in writes if write is not None]


def _state_of(states: ConsentStates, key: bytes) -> SubjectState:
    stored = states.get(key)
    return SubjectState.from_json(stored) if stored else EMPTY


def _dead_letter(
    rt: Runtime, fault: Fault, source: str, message: Any, event_id: object = None
) -> Outgoing:
    record = dead_letter_record(
        fault, source, message.partition, message.offset, message.value, datetime.now(UTC)
    )
    value = rt.codec.encode_for(topics.DLQ, record)
    version = rt.compiled.policy_version
    headers = encoded(dead_letter_headers(fault.error_kind, version, source, event_id))
    return Outgoing(topics.DLQ, message.key or b"", value, headers, dlq_kind=fault.error_kind)


def _decision_records(rt: Runtime, decision: Decision) -> list[Outgoing]:
    out = [
        Outgoing(
            output.topic,
            output.key.encode(),
            rt.codec.encode_for(output.topic, output.value),
            stamp_headers(output.value),
            coarse_time=output.coarse_time,
        )
        for output in decision.outputs
    ]
    for tombstone in decision.tombstones:
        # the tombstone's own event id: keyed like its topic's records on a pseudonymised one
        headers = tombstone_headers(tombstone.reason, tombstone.event_id, decision.policy_version)
        key = tombstone.key.encode()
        out.append(
            Outgoing(
                tombstone.topic,
                key,
                None,
                encoded(headers),
                coarse_time=tombstone.coarse_time,
                notice=NoticeOf(tombstone.reason, decision.event_id),
            )
        )
    audit = rt.codec.encode_audit(decision)  # the bytes of encode_for(AUDIT, audit_record())
    stamp = audit_header_bytes(decision.event_id, decision.policy_version, decision.source_topic)
    out.append(Outgoing(topics.AUDIT, decision.customer_id.encode(), audit, stamp))
    return out


def _shadow_records(
    rt: Runtime,
    event: InputEvent,
    state: SubjectState,
    stream_time: datetime | None,
    decision: Decision,
) -> list[Outgoing]:
    """The shadow policy's difference for this event, if any. A fault in the shadow never
    touches the event: it is logged (its type only) and the shadow record is skipped."""
    if rt.shadow is None:
        return []
    try:
        value = shadow_difference(event, state, rt.shadow, stream_time, decision)
        encoded_value = None if value is None else rt.codec.encode_for(topics.SHADOW, value)
    except Exception as exc:  # noqa: BLE001 - the policy in force's records go on regardless
        log.warning("shadow policy could not decide an event (%s)", type(exc).__name__)
        return []
    if value is None or encoded_value is None:
        return []
    metrics.observe_shadow(value["differences"])
    stamp = audit_header_bytes(decision.event_id, decision.policy_version, decision.source_topic)
    return [Outgoing(topics.SHADOW, decision.customer_id.encode(), encoded_value, stamp)]


def _internal_error(exc: Exception) -> PipelineFault:
    # The exception's text may quote a field value: only its type goes out.
    error = f"internal error while processing ({type(exc).__name__}); nothing forwarded"
    return PipelineFault(error, "internal_error")
