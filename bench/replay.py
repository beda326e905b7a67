"""The replay passthrough: the worker's own output, written again by a plain aiokafka program.

It consumes the worker's inputs on a fresh consumer group and, for each input record in the
order it reads them, sends the records the worker wrote for that record (``bench.outputs``):
same keys, values, headers and partition numbers, to fresh topics of the same partition counts
(the changelog included). It commits on the worker's cadence (Faust's defaults, which our app
keeps: every ``broker_commit_interval`` = 2.8 s or ``broker_commit_every`` = 10,000 records),
each commit after a flush and after every record sent so far is acknowledged, as the worker
acks an input only once its records are delivered. acks=all, the worker's linger and Faust's
default batch size. Nothing is decoded or decided: the I/O the worker cannot avoid, and
nothing else.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.outputs import Out, Plan
from bench.passthrough import PRODUCER_MAX_BATCH
from broker.admin import TopicSpec, ensure_topics
from config.settings import Settings
from policy import topics

#: Faust's defaults (the app sets neither): seconds and records between commits.
COMMIT_INTERVAL_S = 2.8
COMMIT_EVERY = 10_000


def create_outputs(settings: Settings, plan: Plan) -> Settings:
    """Fresh output topics (same names under a new prefix, same partition counts)."""
    prefix = f"r{uuid.uuid4().hex[:8]}-replay."
    target = settings.model_copy(update={"topic_prefix": prefix})
    specs = [TopicSpec(name, count) for name, count in sorted(plan.partitions.items())]
    ensure_topics(target, specs)
    return target


async def replay(source: Settings, target: Settings, plan: Plan) -> dict[str, Any]:
    """Consume ``source``'s inputs, send the plan's records to ``target``'s topics."""
    cons = AIOKafkaConsumer(
        *(source.topic(t) for t in topics.INPUT_TOPICS),
        bootstrap_servers=source.kafka_bootstrap,
        group_id=f"replay-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    prod = AIOKafkaProducer(
        bootstrap_servers=source.kafka_bootstrap,
        acks=-1,
        linger_ms=int(source.producer_linger_s * 1000),
        max_batch_size=PRODUCER_MAX_BATCH,
    )
    await cons.start()
    await prod.start()
    try:
        names = {source.topic(t): t for t in topics.INPUT_TOPICS}
        out = {name: target.topic(name) for name in plan.partitions}
        loop = _Loop(cons, prod, names, out, plan)
        seconds = await loop.run()
    finally:
        await cons.stop()
        await prod.stop()
    return {
        "events": loop.done,
        "records_sent": loop.sent,
        "commits": loop.commits,
        "seconds": round(seconds, 2),
        "events_per_s": round(loop.done / seconds),
    }


class _Loop:
    def __init__(
        self,
        cons: AIOKafkaConsumer,
        prod: AIOKafkaProducer,
        names: dict[str, str],
        out: dict[str, str],
        plan: Plan,
    ) -> None:
        self.cons, self.prod, self.names, self.out, self.plan = cons, prod, names, out, plan
        self.done = self.sent = self.commits = 0
        self.pending: list[asyncio.Future[Any]] = []
        self.offsets: dict[TopicPartition, int] = {}

    async def run(self) -> float:
        """Seconds from the first record read to the last commit."""
        started: float | None = None
        last_commit = time.monotonic()
        since_commit = 0
        while self.done < self.plan.inputs:
            batches = await self.cons.getmany(timeout_ms=500, max_records=2000)
            for tp, records in batches.items():
                started = started or time.perf_counter()
                for r in records:
                    for out in self.plan.by_input.get(
                        (self.names[tp.topic], tp.partition, r.offset), ()
                    ):
                        await self._send(out)
                self.offsets[tp] = records[-1].offset + 1
                self.done += len(records)
                since_commit += len(records)
            if time.monotonic() - last_commit >= COMMIT_INTERVAL_S or since_commit >= COMMIT_EVERY:
                await self._commit()
                last_commit, since_commit = time.monotonic(), 0
        for out in self.plan.unattached:
            await self._send(out)
        await self._commit()
        assert started is not None
        return time.perf_counter() - started

    async def _send(self, out: Out) -> None:
        future = await self.prod.send(
            self.out[out.topic],
            out.value,
            key=out.key,
            partition=out.partition,
            headers=out.headers,
        )
        self.pending.append(future)
        self.sent += 1

    async def _commit(self) -> None:
        await self.prod.flush()
        await asyncio.gather(*self.pending)
        self.pending.clear()
        if self.offsets:
            await self.cons.commit(dict(self.offsets))
        self.commits += 1
