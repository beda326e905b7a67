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
from policy.engine import Decision
from policy.state import SubjectState
from policy.step import step
from policy.validation import Invalid, dead_letter_record, validate
from streams import metrics, topics
from streams.avro import DecodeError, stamp_headers
from streams.avro.store import AUDIT_RECORD, DLQ_RECORD, INPUT_RECORDS

CONSENT_TABLE = "consent-state"


def logical_topic(physical: str, prefix: str) -> str:
    return physical[len(prefix) :] if prefix and physical.startswith(prefix) else physical


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
            ("purposegate-event-id", tombstone.event_id.encode()),
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


def _state_of(table: Any, key: bytes) -> SubjectState:
    stored: bytes | None = table.get(key)
    return SubjectState.from_json(stored) if stored else SubjectState.empty()


def process(rt: Runtime, table: Any, message: Any) -> list[Outgoing]:
    """Everything one input message turns into, as encoded records; updates the consent table.

    Pure but for the table write, so the ordering rule holds: a consent change is in the table
    before the next event of the same partition is decided, and so is every shared topic an
    event fed (a later withdrawal notifies those topics only).
    """
    source = logical_topic(message.topic, rt.settings.topic_prefix)
    where = (source, message.partition, message.offset, message.value)
    decoded = rt.codec.decode(message.value)
    if isinstance(decoded, DecodeError):
        return [_dead_letter(rt, decoded.dlq_record(*where), message.key)]
    expected = INPUT_RECORDS.get(source)
    if decoded.name != expected:
        error = f"{source}: carries a {decoded.name} record, not {expected}"
        return [_fault(rt, message, source, error, "wrong_type")]
    checked = validate(source, decoded.value, rt.compiled, rt.clock())
    if isinstance(checked, Invalid):
        return [_dead_letter(rt, checked.dlq_record(*where), message.key)]
    if message.key != checked.customer_id.encode():
        error = (
            f"{source}: the Kafka key is not the record's customer_id (co-partitioning needs it)"
        )
        return [_fault(rt, message, source, error, "key_mismatch")]
    state = _state_of(table, message.key)
    new_state, decision = step(checked, state, rt.compiled)
    if new_state is not state:  # a state change, or a shared topic newly fed this subject's key
        table[message.key] = new_state.to_json().encode()
    metrics.observe_decision(decision)
    return _decision_records(rt, decision)


def _fault(rt: Runtime, message: Any, source: str, error: str, kind: str) -> Outgoing:
    """A dead letter for a fault the pipeline itself finds (not the codec, not validation)."""
    record = dead_letter_record(
        source, message.partition, message.offset, error, kind, message.value
    )
    return _dead_letter(rt, record, message.key)


def _internal_error(rt: Runtime, message: Any, exc: Exception) -> Outgoing:
    source = logical_topic(message.topic, rt.settings.topic_prefix)
    # The exception's text may quote a field value: only its type goes out.
    error = f"internal error while processing ({type(exc).__name__}); nothing forwarded"
    return _fault(rt, message, source, error, "internal_error")


async def handle(rt: Runtime, table: Any, event: Any) -> None:
    started = time.perf_counter()
    async with rt.lock:
        try:
            records = process(rt, table, event.message)
        except Exception as exc:  # noqa: BLE001 - the stream goes on; the event goes to the DLQ
            records = [_internal_error(rt, event.message, exc)]
        await rt.send(records)
    for record in records:
        if record.dlq_kind is not None:
            metrics.observe_dlq(
                logical_topic(event.message.topic, rt.settings.topic_prefix), record.dlq_kind
            )
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
            *(rt.settings.topic(n) for n in names), key_serializer="raw", value_serializer="raw"
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
