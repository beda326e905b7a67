"""The pipeline's agents. Each is a loop around ``handle``: decode → validate → decide → send.

Every input event ends as exactly one audit record (and its outputs), or as one DLQ record:
nothing raises out of ``handle``, because Faust acks and skips an event whose agent raises.
All sends of one event are encoded first and enqueued together, so a fault never leaves half
an event's outputs on the wire.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import faust

from agents.runtime import Runtime
from policy.engine import Decision, apply_state_event, decide
from policy.state import SubjectState
from policy.validation import Invalid, validate
from streams import metrics, topics
from streams.avro import DecodeError, stamp_headers

CONSENT_TABLE = "consent-state"


@dataclass(frozen=True)
class Outgoing:
    """One record ready for the wire (bytes already encoded)."""

    topic: str
    key: bytes
    value: bytes | None
    headers: list[tuple[str, bytes]]
    dlq_kind: str | None = None


def logical_topic(physical: str, prefix: str) -> str:
    return physical[len(prefix) :] if prefix and physical.startswith(prefix) else physical


def _dead_letter(rt: Runtime, source: str, message: Any, error: str, kind: str) -> Outgoing:
    record = {
        "source_topic": source,
        "partition": message.partition,
        "offset": message.offset,
        "error": error,
        "error_kind": kind,
        "raw": message.value if isinstance(message.value, bytes) else b"",
        "received_time": int(time.time() * 1000),
    }
    value = rt.codec.encode("DeadLetter", record)
    headers = [("purposegate-error-kind", kind.encode())]
    return Outgoing(topics.DLQ, message.key or b"", value, headers, dlq_kind=kind)


def _decision_records(rt: Runtime, decision: Decision) -> list[Outgoing]:
    out: list[Outgoing] = []
    for output in decision.outputs:
        out.append(
            Outgoing(
                output.topic,
                output.key.encode(),
                rt.codec.encode(rt.codec.output_schema_name(output.topic), output.value),
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
            rt.codec.encode("AuditRecord", audit),
            [("purposegate-event-id", decision.event_id.encode())],
        )
    )
    return out


async def _send(rt: Runtime, records: Iterable[Outgoing]) -> None:
    for record in records:
        await rt.sinks[record.topic].send(
            key=record.key, value=record.value, headers=record.headers
        )


def _state_of(table: Any, key: bytes) -> SubjectState:
    stored = table.get(key)
    return SubjectState.from_json(stored) if stored else SubjectState.empty()


def process(rt: Runtime, table: Any, event: Any) -> list[Outgoing]:
    """Everything one input event turns into, as encoded records; updates the consent table.

    Pure but for the table write, so the ordering rule holds: a consent change is in the table
    before the next event of the same partition is decided.
    """
    message = event.message
    source = logical_topic(message.topic, rt.settings.topic_prefix)
    decoded = rt.codec.decode(message.value)
    if isinstance(decoded, DecodeError):
        return [_dead_letter(rt, source, message, decoded.error, decoded.error_kind)]
    _schema, value = decoded
    checked = validate(source, value, rt.compiled)
    if isinstance(checked, Invalid):
        return [_dead_letter(rt, source, message, checked.error, checked.error_kind)]
    customer_key = checked.customer_id
    if message.key != customer_key.encode():
        error = "Kafka key differs from customer_id: records must be keyed by customer_id"
        return [_dead_letter(rt, source, message, error, "key_mismatch")]
    state = _state_of(table, message.key)
    if source in topics.STATE_TOPICS:
        new_state, decision = apply_state_event(checked, state, rt.compiled)
        if new_state != state:
            table[message.key] = new_state.to_json()
    else:
        decision = decide(checked, state, rt.compiled)
    metrics.observe_decision(decision)
    return _decision_records(rt, decision)


async def handle(rt: Runtime, table: Any, event: Any) -> None:
    started = time.perf_counter()
    try:
        records = process(rt, table, event)
    except Exception as exc:  # noqa: BLE001 - the stream must go on; the event goes to the DLQ
        source = logical_topic(event.message.topic, rt.settings.topic_prefix)
        error = f"internal error while processing ({type(exc).__name__}); nothing forwarded"
        records = [_dead_letter(rt, source, event.message, error, "internal_error")]
    for record in records:
        if record.dlq_kind is not None:
            metrics.observe_dlq(
                logical_topic(event.message.topic, rt.settings.topic_prefix), record.dlq_kind
            )
    await _send(rt, records)
    metrics.observe_processing(time.perf_counter() - started)


def register(app: faust.App, rt: Runtime) -> None:
    """Declare the consent table and one agent per input topic family on ``app``."""
    table = app.Table(
        CONSENT_TABLE,
        default=None,
        partitions=rt.settings.partitions,
        key_serializer="raw",
        value_serializer="json",
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

    async def agent(stream: faust.StreamT[Any]) -> None:
        async for event in stream.events():
            await handle(rt, table, event)

    for family, names in families.items():
        app.agent(source(*names), name=f"purposegate.{family}", concurrency=1)(agent)
