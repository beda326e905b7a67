"""The pipeline's agents. Each is a loop around ``handle``: decode → validate → decide → send.

Every input event ends as exactly one audit record (and its outputs), or as one DLQ record:
nothing raises out of ``handle``, because Faust acks and skips an event whose agent raises.
All sends of one event are encoded first and enqueued together, so a fault never leaves half
an event's outputs on the wire.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import faust

from agents.runtime import Outgoing, Runtime
from policy import topics
from policy.decision import Decision
from policy.state import SubjectState
from policy.step import step
from policy.validation import Invalid, validate
from streams.kafka import metrics
from streams.wire.codec import DecodeError
from streams.wire.deadletter import Fault, PipelineFault, dead_letter_record
from streams.wire.headers import (
    audit_headers,
    dead_letter_headers,
    encoded,
    stamp_headers,
    tombstone_headers,
)

CONSENT_TABLE = "consent-state"


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
        )
        for output in decision.outputs
    ]
    for tombstone in decision.tombstones:
        # the tombstone's own event id: keyed like its topic's records on a pseudonymised one
        headers = tombstone_headers(tombstone.reason, tombstone.event_id, decision.policy_version)
        out.append(Outgoing(tombstone.topic, tombstone.key.encode(), None, encoded(headers)))
    audit = rt.codec.encode_for(topics.AUDIT, decision.audit_record())
    stamp = encoded(
        audit_headers(decision.event_id, decision.policy_version, decision.source_topic)
    )
    out.append(Outgoing(topics.AUDIT, decision.customer_id.encode(), audit, stamp))
    return out


def _state_of(table: Any, key: bytes) -> SubjectState:
    stored: bytes | None = table.get(key)
    return SubjectState.from_json(stored) if stored else SubjectState.empty()


def process(rt: Runtime, table: Any, message: Any, source: str) -> list[Outgoing]:
    """Everything one input message (from logical topic ``source``) turns into, as encoded
    records; updates the consent table.

    Pure but for the table write, so the ordering rule holds: a consent change is in the table
    before the next event of the same partition is decided, and so is every shared topic an
    event fed (a later withdrawal notifies those topics only).
    """
    decoded = rt.codec.decode(message.value)
    if isinstance(decoded, DecodeError):
        return [_dead_letter(rt, decoded, source, message)]
    spec = rt.compiled.policy.inputs.get(source)
    expected = spec.record if spec is not None else None
    if decoded.name != expected:
        error = f"{source}: carries a {decoded.name} record, not {expected}"
        return [_dead_letter(rt, Invalid(error, "wrong_type"), source, message)]
    checked = validate(source, decoded.value, rt.compiled, rt.clock())
    if isinstance(checked, Invalid):
        event_id = decoded.value.get("event_id")
        return [_dead_letter(rt, checked, source, message, event_id)]
    if message.key != checked.customer_id.encode():
        error = (
            f"{source}: the Kafka key is not the record's customer_id (co-partitioning needs it)"
        )
        fault = PipelineFault(error, "key_mismatch")
        return [_dead_letter(rt, fault, source, message, checked.event_id)]
    state = _state_of(table, message.key)
    new_state, decision = step(checked, state, rt.compiled)
    if new_state is not state and new_state != state:
        table[message.key] = new_state.to_json().encode()
    metrics.observe_decision(decision)
    return _decision_records(rt, decision)


def _internal_error(exc: Exception) -> PipelineFault:
    # The exception's text may quote a field value: only its type goes out.
    error = f"internal error while processing ({type(exc).__name__}); nothing forwarded"
    return PipelineFault(error, "internal_error")


async def handle(rt: Runtime, table: Any, event: Any) -> None:
    started = time.perf_counter()
    message = event.message
    source = rt.names.logical(message.topic)
    async with rt.lock:
        try:
            records = process(rt, table, message, source)
        except Exception as exc:  # noqa: BLE001 - the stream goes on; the event goes to the DLQ
            records = [_dead_letter(rt, _internal_error(exc), source, message)]
        await rt.send(records)
    for record in records:
        if record.dlq_kind is not None:
            metrics.observe_dlq(source, record.dlq_kind)
    metrics.observe_processing(time.perf_counter() - started)


def register(app: faust.App, rt: Runtime) -> None:
    """Declare the consent table and one agent per input topic family on ``app``."""
    table = app.Table(
        CONSENT_TABLE,
        default=None,
        partitions=rt.settings.partitions,
        key_type=bytes,
        value_type=bytes,
        help="Consent and suspension state per customer (key: customer_id).",
    )

    def source(*names: str) -> Any:
        return app.topic(
            *(rt.names.physical(n) for n in names), key_serializer="raw", value_serializer="raw"
        )

    families = {
        "orders": (topics.ORDERS,),
        "inquiries": (topics.INQUIRIES,),
        "campaign-entries": (topics.CAMPAIGN_ENTRIES,),
        "consent-and-requests": topics.STATE_TOPICS,
    }

    async def count_consent_subjects() -> None:
        metrics.set_consent_subjects(len(table))

    app.timer(interval=10.0, name="purposegate.consent_subjects")(count_consent_subjects)

    async def agent(stream: faust.StreamT[Any]) -> None:
        async for event in stream.events():
            await handle(rt, table, event)

    for family, names in families.items():
        app.agent(source(*names), name=f"purposegate.{family}", concurrency=1)(agent)
