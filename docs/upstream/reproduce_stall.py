"""Minimal reproduction: a faust-streaming worker stalls after its table recovery.

Needs only faust-streaming 0.15.3, aiokafka 0.14 and a Kafka broker:

    python reproduce_stall.py --bootstrap localhost:9092            # Faust as released: stalls
    python reproduce_stall.py --bootstrap localhost:9092 --fixed    # with the patch: completes

What it does, on topics of its own:

1. a worker counts records per key in a table (so there is a changelog to recover) and
   forwards every record to an output topic; it processes 600 records, commits, stops;
2. 3,000 more records are produced while no worker runs (a backlog);
3. a second worker starts. Two things are made slow, as a loaded broker and a busy worker make
   them: each committed-offset lookup (``AIOKafkaConsumer.committed``, called once per
   assigned partition by ``Recovery.on_recovery_completed`` -> ``perform_seek``) waits 0.5 s
   first, and the agent takes 2 ms per record.

In ``on_recovery_completed`` the input partitions are resumed before that seek, and the
agents' queues are cleared (``app.flow_control.resume()``) after it: what was fetched during
the seek is dropped and the fetch position is past it. The script prints how many of the
3,600 records reached the output topic and the group's lag, and exits 1 on a stall.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery

BOOTSTRAP = os.environ.get("REPRO_BOOTSTRAP", "localhost:9092")
PREFIX = os.environ.get("REPRO_PREFIX", "repro")
PARTITIONS = 6
FIRST, BACKLOG = 600, 3000


class SeekFirstRecovery(Recovery):
    """``on_recovery_completed`` as in the proposed patch (stream partitions seeked while
    paused, never-committed ones from their earliest offset, resumed after the clear)."""

    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        consumer = self.app.consumer
        self.log.info("Restore complete!")
        await self.app.on_rebalance_complete.send()
        self._set_recovery_ended()
        tasks = [
            asyncio.ensure_future(
                t.on_recovery_completed(self.actives_for_table[t], self.standbys_for_table[t])
            )
            for t in self.tables.values()
        ]
        if tasks:
            await asyncio.wait(tasks)
        assignment = consumer.assignment()
        if self.app.consumer_generation_id != generation_id:
            return
        stream_tps = {tp for tp in assignment if not self._is_changelog_tp(tp)}
        consumer.pause_partitions(stream_tps)
        if assignment:
            timeout = self.app.conf.broker_request_timeout
            await self._wait(consumer.perform_seek(), timeout=timeout)
            uncommitted = [tp for tp in stream_tps if not consumer._committed_offset.get(tp)]
            if uncommitted:
                earliest = await consumer.earliest_offsets(*uncommitted)
                for tp in uncommitted:
                    await consumer.seek(tp, earliest.get(tp) or 0)
        self.completed.set()
        self.app.flow_control.resume()
        consumer.resume_partitions(stream_tps)
        consumer.resume_flow()
        await self.app._fetcher.maybe_start()
        self.tables.on_actives_ready()
        if not self.app.assignor.assigned_standbys():
            self.tables.on_standbys_ready()
        self.app.on_rebalance_end()
        self.log.info("Worker ready")


class FixedTableManager(TableManager):
    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = SeekFirstRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery


app = faust.App(
    f"{PREFIX}-app",
    broker=f"kafka://{BOOTSTRAP}",
    store="memory://",
    topic_partitions=PARTITIONS,
    consumer_auto_offset_reset="earliest",
    web_port=int(os.environ.get("REPRO_WEB_PORT", "6066")),
    **({"TableManager": FixedTableManager} if os.environ.get("REPRO_FIXED") else {}),
)
counts = app.Table("counts", default=int, partitions=PARTITIONS)
source = app.topic(f"{PREFIX}-in", partitions=PARTITIONS, key_type=str, value_type=int)
sink = app.topic(f"{PREFIX}-out", partitions=1, key_type=str, value_type=int)


@app.agent(source)
async def process(stream: faust.StreamT) -> None:
    slow = float(os.environ.get("REPRO_SLOW_AGENT_S", "0"))
    async for key, value in stream.items():
        counts[key] += 1
        if slow:
            await asyncio.sleep(slow)
        await sink.send(key=key, value=value)


def slow_committed_lookups(delay_s: float) -> None:
    from aiokafka import AIOKafkaConsumer as Client

    original = Client.committed

    async def committed(self, partition):  # type: ignore[no-untyped-def]
        await asyncio.sleep(delay_s)
        return await original(self, partition)

    Client.committed = committed


# --- the driver -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    port = free_port()
    log = open(f"{PREFIX}-worker-{port}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(  # noqa: S603 - this script, with the interpreter running it
        [sys.executable, __file__, "worker", "-l", "info"],
        env={**os.environ, **env, "REPRO_WEB_PORT": str(port)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def create_topics() -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(f"{PREFIX}-in", PARTITIONS, 1), NewTopic(f"{PREFIX}-out", 1, 1)]
        )
    finally:
        await admin.close()


async def produce(first: int, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP)
    await producer.start()
    try:
        for i in range(first, first + count):
            await producer.send(f"{PREFIX}-in", key=f"k{i % 60}".encode(), value=str(i).encode())
        await producer.flush()
    finally:
        await producer.stop()


async def delivered() -> int:
    client = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest")
    await client.start()
    try:
        tp = TopicPartition(f"{PREFIX}-out", 0)
        client.assign([tp])
        await client.seek_to_beginning(tp)
        end = (await client.end_offsets([tp]))[tp]
        seen: set[bytes] = set()
        while await client.position(tp) < end:
            for records in (await client.getmany(timeout_ms=1000)).values():
                seen.update(r.value for r in records if r.value is not None)
        return len(seen)
    finally:
        await client.stop()


async def lag() -> dict[int, int]:
    client = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=f"{PREFIX}-app")
    await client.start()
    try:
        tps = [TopicPartition(f"{PREFIX}-in", p) for p in range(PARTITIONS)]
        ends = await client.end_offsets(tps)
        return {tp.partition: ends[tp] - ((await client.committed(tp)) or 0) for tp in tps}
    finally:
        await client.stop()


def wait_for(count: int, timeout: float, worker: subprocess.Popen[bytes]) -> int:
    """Until ``count`` records are on the output topic, or nothing new came for 30 s."""
    started = last_change = time.monotonic()
    seen = -1
    while time.monotonic() - started < timeout and worker.poll() is None:
        now = asyncio.run(delivered())
        if now >= count:
            return now
        if now != seen:
            seen, last_change = now, time.monotonic()
        elif time.monotonic() - last_change > 30:
            break
        time.sleep(2)
    return seen


def drive(fixed: bool) -> int:
    os.environ["REPRO_PREFIX"] = f"repro{uuid.uuid4().hex[:8]}"
    global PREFIX
    PREFIX = os.environ["REPRO_PREFIX"]
    fix = {"REPRO_FIXED": "1"} if fixed else {}
    asyncio.run(create_topics())
    first = start_worker(fix)
    asyncio.run(produce(0, FIRST))
    print(f"first worker: {wait_for(FIRST, 120, first)}/{FIRST} forwarded")
    time.sleep(6)  # two commit intervals
    first.send_signal(signal.SIGTERM)
    first.wait(60)
    asyncio.run(produce(FIRST, BACKLOG))
    slow = {"REPRO_SLOW_SEEK_S": "0.5", "REPRO_SLOW_AGENT_S": "0.002", **fix}
    second = start_worker(slow)
    try:
        done = wait_for(FIRST + BACKLOG, 240, second)
        behind = asyncio.run(lag())
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(60)
    print(f"second worker ({'patched' if fixed else 'as released'}): {done}/{FIRST + BACKLOG}")
    print(f"records not committed per input partition: {behind}")
    return 0 if done >= FIRST + BACKLOG else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        if os.environ.get("REPRO_SLOW_SEEK_S"):
            slow_committed_lookups(float(os.environ["REPRO_SLOW_SEEK_S"]))
        app.main()
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--bootstrap", default=BOOTSTRAP)
        parser.add_argument("--fixed", action="store_true", help="apply the proposed patch")
        args = parser.parse_args()
        os.environ["REPRO_BOOTSTRAP"] = BOOTSTRAP = args.bootstrap
        sys.exit(drive(args.fixed))
