"""The raw speed of the client stack: consume → fastavro decode → encode → produce, one
output per input, in this process (no purposegate code on the path)."""

from __future__ import annotations

import asyncio
import time
import uuid
from io import BytesIO
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastavro import schemaless_reader, schemaless_writer

from config.settings import Settings
from policy import topics
from wire import SchemaStore
from wire.codec import SINGLE_OBJECT_HEADER_LEN, SINGLE_OBJECT_MAGIC

#: Faust's default producer_max_batch_size (bytes); the passthrough uses the same.
PRODUCER_MAX_BATCH = 16384
PASSTHROUGH_TOPIC = "bench.passthrough"


async def passthrough(settings: Settings, store: SchemaStore, expected: int) -> dict[str, Any]:
    """consume → fastavro decode → fastavro encode → produce, one output per input."""
    bootstrap = settings.kafka_bootstrap
    cons = AIOKafkaConsumer(
        *(settings.topic(t) for t in topics.INPUT_TOPICS),
        bootstrap_servers=bootstrap,
        group_id=f"passthrough-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    prod = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks=-1,
        linger_ms=int(settings.producer_linger_s * 1000),
        max_batch_size=PRODUCER_MAX_BATCH,
    )
    await cons.start()
    await prod.start()
    try:
        done, seconds = await _copy(cons, prod, settings.topic(PASSTHROUGH_TOPIC), store, expected)
    finally:
        await cons.stop()
        await prod.stop()
    return {"events": done, "seconds": round(seconds, 2), "events_per_s": round(done / seconds)}


async def _copy(
    cons: AIOKafkaConsumer,
    prod: AIOKafkaProducer,
    out_topic: str,
    store: SchemaStore,
    expected: int,
) -> tuple[int, float]:
    """Records copied and the seconds from the first one consumed to the last acknowledged."""
    by_fp = {s.fingerprint: s.parsed for s in store}
    header = {s.fingerprint: SINGLE_OBJECT_MAGIC + s.fingerprint for s in store}
    done = 0
    started: float | None = None
    pending: list[asyncio.Future[Any]] = []
    while done < expected:
        batches = await cons.getmany(timeout_ms=500, max_records=2000)
        for records in batches.values():
            if started is None:
                started = time.perf_counter()
            for r in records:
                fp = r.value[2:SINGLE_OBJECT_HEADER_LEN]
                value = schemaless_reader(BytesIO(r.value[SINGLE_OBJECT_HEADER_LEN:]), by_fp[fp])
                out = BytesIO()
                out.write(header[fp])
                schemaless_writer(out, by_fp[fp], value)
                pending.append(await prod.send(out_topic, out.getvalue(), key=r.key))
            done += len(records)
        if len(pending) > 10_000:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    assert started is not None
    return done, time.perf_counter() - started
