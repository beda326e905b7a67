"""``make bench``: how fast purposegate is, against the raw speed of its own client stack.

Everything runs on one real broker (``KAFKA_BOOTSTRAP``; ``deploy/bench.sh`` starts a local one)
and the same synthetic data (``purposegate sample``), in one run:

* ``engine``: ``step`` (tagging, consent, projection) on one core, no I/O
  (``bench.bench_engine``).
* ``worker``: one ``purposegate worker`` subprocess over a pre-produced stream on a fresh topic
  prefix. Start of consumption = the CreateTime of the first audit record, end = that of the
  last one (the worker's producer stamps them); the run ends when the audit end offsets reach
  the number of valid inputs (counted by end offsets, nothing is decoded).
* ``passthrough``: a minimal raw aiokafka consume → fastavro decode → fastavro encode →
  produce loop in this process over the same input topics, ONE output per input (the worker
  writes the audit record plus each event's permitted route outputs), same acks/linger/batch.
* ``two_workers``: two workers in one group over a fresh copy of the stream, started together.
* ``e2e``: a worker fed at half of the measured worker rate; latency = the audit record's
  CreateTime minus the input's produce time (same clock).
* ``withdrawal``: grant marketing consent, then produce a withdrawal and immediately orders of
  that customer; the time from the withdrawal's produce to the audit record of the first order
  (blocked, ``no_consent``).

    .venv/bin/python -m bench.run [--events 200000] [--latency-seconds 15] [--withdrawals 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastavro import schemaless_reader, schemaless_writer
from kafka import TopicPartition

from bench.bench_engine import BENCH_KEYS, prepare, rate
from bench.plot import PNG, RESULTS, plot
from policy import topics
from policy.compile import CompiledPolicy, compile_policy
from policy.loader import load_policy
from policy.step import step
from policy.validation import InputEvent, validate
from streams.kafka.admin import TopicSpec, ensure_topics, topic_specs
from streams.kafka.clients import consumer, producer
from streams.settings import REPO_ROOT, Settings
from streams.tools.lines import consent_line, order_line
from streams.tools.sample import sample_lines
from streams.tools.workers import WorkerProcess, free_port
from streams.wire import Codec, Decoded, SchemaStore, headers
from streams.wire.codec import SINGLE_OBJECT_HEADER_LEN, SINGLE_OBJECT_MAGIC
from streams.wire.generate import load_checked
from streams.wire.input_lines import Prepared
from streams.wire.input_lines import prepare as prepare_lines

PURPOSEGATE = REPO_ROOT / ".venv" / "bin" / "purposegate"
#: Faust's default producer_max_batch_size (bytes); the passthrough uses the same.
PRODUCER_MAX_BATCH = 16384
PASSTHROUGH_TOPIC = "bench.passthrough"
#: Worker settings taken from this process's environment (the defaults otherwise).
WORKER_KNOBS = (
    "PURPOSEGATE_STREAM_BUFFER_MAXSIZE",
    "PURPOSEGATE_PRODUCER_LINGER_S",
    "PURPOSEGATE_LOG_LEVEL",
)


def log(text: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {text}", flush=True)


@dataclass(frozen=True)
class Event:
    topic: str  # logical
    key: bytes
    value: bytes
    event_id: str


@dataclass
class Bench:
    args: argparse.Namespace
    base: Settings
    compiled: CompiledPolicy
    codec: Codec
    workdir: Path
    keys_file: Path

    # -- settings and topics ----------------------------------------------------------------

    def settings(self, label: str) -> Settings:
        prefix = f"b{uuid.uuid4().hex[:8]}-{label}."
        return self.base.model_copy(
            update={
                "topic_prefix": prefix,
                "app_id": f"purposegate-{prefix.rstrip('.')}",
                "pseudonym_keys_file": self.keys_file,
            }
        )

    def create_topics(self, settings: Settings) -> None:
        specs = topic_specs(settings, self.compiled.shared_topics)
        specs.append(TopicSpec(PASSTHROUGH_TOPIC, settings.partitions))
        ensure_topics(settings, specs)

    def worker_env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for name in WORKER_KNOBS:
            if name in os.environ:
                env[name] = os.environ[name]
        return env

    def start_workers(self, settings: Settings, count: int) -> list[WorkerProcess]:
        workers = [
            WorkerProcess.start(settings, self.workdir, free_port(), self.worker_env())
            for _ in range(count)
        ]
        return workers

    # -- the worker's throughput ------------------------------------------------------------

    def worker_rate(self, events: list[Event], valid: int, workers: int) -> dict[str, Any]:
        settings = self.settings(f"w{workers}")
        self.create_topics(settings)
        if workers == 1:
            produce(settings, events)
        started = time.monotonic()
        procs = self.start_workers(settings, workers)
        try:
            if workers > 1:
                # Started together on a pre-produced backlog, the second worker's join
                # rebalances the first one mid-stream (and that has stalled a worker here):
                # so the group settles first, then the stream is produced at full speed
                # (several times faster than the workers consume it).
                for proc in procs:
                    proc.wait_ready(timeout=120)
                time.sleep(3)
                produce(settings, events)
            timeout = self.args.timeout
            audit_done(settings, valid, timeout, procs)
            wall = time.monotonic() - started
            first, last = first_last_timestamps(settings, topics.AUDIT)
        finally:
            for proc in procs:
                proc.stop()
        seconds = max((last - first) / 1000, 1e-3)
        return {
            "events": valid,
            "seconds": round(seconds, 2),
            "events_per_s": round(valid / seconds),
            "wall_seconds_incl_startup": round(wall, 1),
            "prefix": settings.topic_prefix,
        }

    # -- latency ----------------------------------------------------------------------------

    def latency(self, events: list[Event], per_s: float) -> dict[str, Any]:
        settings = self.settings("lat")
        self.create_topics(settings)
        worker = self.start_workers(settings, 1)[0]
        try:
            worker.wait_ready(timeout=120)
            count = min(len(events), max(100, int(per_s * self.args.latency_seconds)))
            watch = AuditReader(settings)
            sent_at = produce_paced(settings, events[:count], per_s)
            arrived = watch.timestamps(set(sent_at), timeout=self.args.timeout)
            watch.close()
            delays = sorted(arrived[e] - sent_at[e] for e in sent_at if e in arrived)
            withdrawal = self.withdrawals(settings)
        finally:
            worker.stop()
        return {
            "rate_per_s": round(per_s),
            "events": count,
            "received": len(delays),
            "p50_ms": percentile(delays, 50),
            "p99_ms": percentile(delays, 99),
            "max_ms": delays[-1] if delays else None,
            "withdrawal": withdrawal,
        }

    def withdrawals(self, settings: Settings) -> dict[str, Any]:
        delays: list[float] = []
        client = producer(settings, linger_ms=0)
        watch = AuditReader(settings)
        try:
            for i in range(self.args.withdrawals):
                customer = f"bench-w-{i}"
                grant = self.encode(
                    consent_line(customer, f"wg-{i}", "marketing", True, "2026-11-24T09:00:00Z")
                )
                before = self.encode(order_line(customer, f"wb-{i}", "2026-11-24T09:10:00Z"))
                send_now(client, settings, [grant, before])
                watch.timestamps({before.event_id}, timeout=30)
                withdraw = self.encode(
                    consent_line(customer, f"ww-{i}", "marketing", False, "2026-11-24T09:20:00Z")
                )
                sent_at = send_now(client, settings, [withdraw])[withdraw.event_id]
                blocked = self.first_blocked(client, settings, watch, customer, i)
                if blocked is not None:
                    delays.append(blocked - sent_at)
        finally:
            client.close()
            watch.close()
        delays.sort()
        return {
            "repeats": len(delays),
            "p50_ms": percentile(delays, 50),
            "p99_ms": percentile(delays, 99),
        }

    def first_blocked(
        self, client: Any, settings: Settings, watch: AuditReader, customer: str, i: int
    ) -> int | None:
        """Orders every 10 ms after the withdrawal (its topic is not the orders topic, so the
        first ones may be decided before it) until one is audited as ``no_consent``: that
        audit record's CreateTime."""
        sent: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if len(sent) < 500:
                event = self.encode(
                    order_line(customer, f"wa-{i}-{len(sent)}", "2026-11-24T09:30:00Z")
                )
                send_now(client, settings, [event])
                sent.append(event.event_id)
            for stamp, value in watch.records(set(sent), timeout=0.01).values():
                decoded = self.codec.decode(value)
                assert isinstance(decoded, Decoded)
                if any(d["reason"] == "no_consent" for d in decoded.value["decisions"]):
                    return stamp
        return None

    def encode(self, line: str) -> Event:
        (prepared,) = prepare_lines([line], self.codec, self.compiled.policy)
        assert isinstance(prepared, Prepared)
        event_id = json.loads(line)["value"]["event_id"]
        return Event(prepared.topic, prepared.key, prepared.value, event_id)


# -- data -------------------------------------------------------------------------------------


def sample(events: int, compiled: CompiledPolicy, codec: Codec) -> tuple[list[Event], int]:
    """The encoded stream and how many of its events are valid (= audit records expected)."""
    lines = list(sample_lines(seed=42, customers=max(1, events // 10), events=events))
    out: list[Event] = []
    valid = 0
    for line, prepared in zip(lines, prepare_lines(lines, codec, compiled.policy), strict=True):
        assert isinstance(prepared, Prepared), prepared
        document = json.loads(line)
        checked = validate(document["topic"], document["value"], compiled, datetime.now(UTC))
        if isinstance(checked, InputEvent):
            valid += 1
        out.append(
            Event(prepared.topic, prepared.key, prepared.value, document["value"]["event_id"])
        )
    return out, valid


def produce(settings: Settings, events: Sequence[Event]) -> None:
    client = producer(settings, linger_ms=20, batch_size=262_144)
    try:
        for e in events:
            client.send(settings.topic(e.topic), key=e.key, value=e.value)
        client.flush(timeout=120)
    finally:
        client.close()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def send_now(client: Any, settings: Settings, events: Sequence[Event]) -> dict[str, int]:
    sent: dict[str, int] = {}
    for e in events:
        stamp = now_ms()
        client.send(settings.topic(e.topic), key=e.key, value=e.value, timestamp_ms=stamp)
        sent[e.event_id] = stamp
    client.flush(timeout=30)
    return sent


def produce_paced(settings: Settings, events: Sequence[Event], per_s: float) -> dict[str, int]:
    """Send at ``per_s`` (in 5 ms ticks), each record stamped with its send time."""
    client = producer(settings, linger_ms=1)
    sent: dict[str, int] = {}
    tick = 0.005
    started = time.monotonic()
    try:
        for i, e in enumerate(events):
            due = started + i / per_s
            wait = due - time.monotonic()
            if wait > tick:
                time.sleep(wait)
            stamp = now_ms()
            client.send(settings.topic(e.topic), key=e.key, value=e.value, timestamp_ms=stamp)
            sent[e.event_id] = stamp
        client.flush(timeout=60)
    finally:
        client.close()
    return sent


# -- reading the audit topic --------------------------------------------------------------------


def audit_partitions(client: Any, settings: Settings, logical: str) -> list[TopicPartition]:
    name = settings.topic(logical)
    return [TopicPartition(name, p) for p in sorted(client.partitions_for_topic(name) or ())]


def audit_done(
    settings: Settings, expected: int, timeout: float, procs: Sequence[WorkerProcess]
) -> None:
    """Until the audit topic holds ``expected`` records (end offsets; nothing is decoded)."""
    client = consumer(settings)
    try:
        parts = audit_partitions(client, settings, topics.AUDIT)
        deadline = time.monotonic() + timeout
        last_report = progress_at = time.monotonic()
        previous = -1
        while True:
            total = sum(client.end_offsets(parts).values())
            if total >= expected:
                return
            if total != previous:
                previous, progress_at = total, time.monotonic()
            elif time.monotonic() - progress_at > 60:
                tails = "\n".join(p.log_tail(30) for p in procs)
                raise TimeoutError(f"audit stuck at {total} of {expected} for 60 s:\n{tails}")
            for proc in procs:
                if proc.process.poll() is not None:
                    raise RuntimeError(f"worker exited:\n{proc.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"audit has {total} of {expected} records after {timeout}s")
            if time.monotonic() - last_report > 15:
                log(f"  audit: {total:,} / {expected:,}")
                last_report = time.monotonic()
            time.sleep(0.2)
    finally:
        client.close()


def first_last_timestamps(settings: Settings, logical: str) -> tuple[int, int]:
    """The smallest CreateTime at offset 0 and the largest of the last record, over partitions."""
    client = consumer(settings, max_poll_records=1)
    try:
        parts = audit_partitions(client, settings, logical)
        ends = client.end_offsets(parts)
        firsts: list[int] = []
        lasts: list[int] = []
        for tp in parts:
            if not ends[tp]:
                continue
            client.assign([tp])
            for offset, into in ((0, firsts), (ends[tp] - 1, lasts)):
                client.seek(tp, offset)
                into.append(_one(client, tp).timestamp)
        return min(firsts), max(lasts)
    finally:
        client.close()


def _one(client: Any, tp: TopicPartition) -> Any:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for records in client.poll(timeout_ms=500, max_records=1).values():
            if records:
                return records[0]
    raise TimeoutError(f"no record on {tp}")


class AuditReader:
    """Reads the audit topic from its current end; by ``purposegate-event-id`` header."""

    def __init__(self, settings: Settings) -> None:
        self._client = consumer(settings)
        parts = audit_partitions(self._client, settings, topics.AUDIT)
        self._client.assign(parts)
        self._client.seek_to_end(*parts)
        for tp in parts:
            self._client.position(tp)
        self.seen: dict[str, tuple[int, bytes]] = {}

    def records(self, wanted: set[str], timeout: float) -> dict[str, tuple[int, bytes]]:
        deadline = time.monotonic() + timeout
        while not wanted <= self.seen.keys() and time.monotonic() < deadline:
            left_ms = int((deadline - time.monotonic()) * 1000)
            for batch in self._client.poll(timeout_ms=max(1, min(200, left_ms))).values():
                for r in batch:
                    event_id = dict(r.headers or []).get(headers.EVENT_ID, b"").decode()
                    self.seen[event_id] = (r.timestamp, r.value)
        return {e: self.seen[e] for e in wanted if e in self.seen}

    def timestamps(self, wanted: set[str], timeout: float) -> dict[str, int]:
        return {e: stamp for e, (stamp, _) in self.records(wanted, timeout).items()}

    def close(self) -> None:
        self._client.close()


def percentile(values: Sequence[float], pct: float) -> float | None:
    if not values:
        return None
    index = min(len(values) - 1, max(0, round(pct / 100 * len(values) + 0.5) - 1))
    return round(float(sorted(values)[index]), 1)


# -- passthrough --------------------------------------------------------------------------------


async def passthrough(settings: Settings, store: SchemaStore, expected: int) -> dict[str, Any]:
    """consume → fastavro decode → fastavro encode → produce, one output per input."""
    bootstrap = settings.kafka_bootstrap
    sources = [settings.topic(t) for t in topics.INPUT_TOPICS]
    out_topic = settings.topic(PASSTHROUGH_TOPIC)
    by_fp = {s.fingerprint: s.parsed for s in store}
    header = {s.fingerprint: SINGLE_OBJECT_MAGIC + s.fingerprint for s in store}
    cons = AIOKafkaConsumer(
        *sources,
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
                    value = schemaless_reader(
                        BytesIO(r.value[SINGLE_OBJECT_HEADER_LEN:]), by_fp[fp]
                    )
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
        seconds = time.perf_counter() - started
    finally:
        await cons.stop()
        await prod.stop()
    return {"events": done, "seconds": round(seconds, 2), "events_per_s": round(done / seconds)}


# -- the run ----------------------------------------------------------------------------------


def engine_rate(compiled: CompiledPolicy, seconds: float) -> dict[str, Any]:
    work, outputs = prepare(500, 20_000, compiled)
    decide_rate, _ = rate(work, compiled, seconds, step)
    full: Callable[..., object] = lambda e, s, c: step(e, s, c)[1].audit_record()  # noqa: E731
    full_rate, _ = rate(work, compiled, seconds, full)
    return {
        "decide_events_per_s": round(decide_rate),
        "decide_and_audit_events_per_s": round(full_rate),
        "outputs_per_event": round(outputs / max(1, len(work)), 3),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=int(os.environ.get("BENCH_EVENTS", "200000")))
    parser.add_argument("--latency-seconds", type=float, default=15.0)
    parser.add_argument("--withdrawals", type=int, default=30)
    parser.add_argument("--engine-seconds", type=float, default=3.0)
    parser.add_argument("--timeout", type=float, default=600.0, help="per phase, seconds")
    parser.add_argument(
        "--only",
        default="engine,worker,passthrough,two,latency",
        help="comma-separated phases (engine, worker, passthrough, two, latency)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--latency-rate", type=float, help="events/s for e2e (default: half the worker rate)"
    )
    parser.add_argument("--no-plot", dest="plot", action="store_false", help="no docs/bench.png")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    phases = set(args.only.split(","))
    base = Settings()
    policy = load_policy(base.policy_file)
    compiled = compile_policy(policy, BENCH_KEYS)
    codec = Codec(load_checked(policy), wire_format="single-object")
    results: dict[str, Any] = {
        "at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }
    if "engine" in phases:
        log("engine: step (decide + project), one core, no I/O")
        engine = engine_rate(compiled, args.engine_seconds)
        results["engine"] = engine
        results["engine_events_per_s"] = engine["decide_events_per_s"]

    workdir = REPO_ROOT / ".run" / "bench" / datetime.now().strftime("%Y%m%dT%H%M%S")
    workdir.mkdir(parents=True, exist_ok=True)
    if True:
        keys_file = workdir / "keys.json"
        subprocess.run([str(PURPOSEGATE), "keys", "--init", str(keys_file)], check=True)
        bench = Bench(args, base, compiled, codec, workdir, keys_file)
        run_broker_phases(bench, phases, results)

    results["settings"] = {
        "events": args.events,
        "partitions": base.partitions,
        "stream_buffer_maxsize": int(
            os.environ.get("PURPOSEGATE_STREAM_BUFFER_MAXSIZE", base.stream_buffer_maxsize)
        ),
        "producer_linger_s": float(
            os.environ.get("PURPOSEGATE_PRODUCER_LINGER_S", base.producer_linger_s)
        ),
        "producer_max_batch_bytes": PRODUCER_MAX_BATCH,
        "worker_log_level": os.environ.get("PURPOSEGATE_LOG_LEVEL", base.log_level),
        "producer_acks": "all",
        "wire_format": "single-object",
        "broker": base.kafka_bootstrap,
    }
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print_table(results)
    log(f"written {args.out}")
    if args.plot:
        plot(results, PNG)
        log(f"written {PNG}")
    return 0


def run_broker_phases(bench: Bench, phases: set[str], results: dict[str, Any]) -> None:
    args = bench.args
    log(f"sample: {args.events:,} events, encoding")
    events, valid = sample(args.events, bench.compiled, bench.codec)
    results["valid_events"] = valid
    one: dict[str, Any] | None = None
    if phases & {"worker", "passthrough", "two", "latency"}:
        log("worker: one `purposegate worker` over the pre-produced stream")
        one = bench.worker_rate(events, valid, 1)
        results["worker"] = one
        results["worker_events_per_s"] = one["events_per_s"]
    if "passthrough" in phases and one is not None:
        log("passthrough: raw aiokafka consume → fastavro decode/encode → produce")
        settings = bench.base.model_copy(update={"topic_prefix": one["prefix"]})
        raw = asyncio.run(passthrough(settings, bench.codec.store, len(events)))
        results["passthrough"] = raw
        results["passthrough_events_per_s"] = raw["events_per_s"]
        results["worker_vs_passthrough"] = round(one["events_per_s"] / raw["events_per_s"], 3)
    if "two" in phases and one is not None:
        log("two workers in one group over a fresh copy of the stream")
        two = bench.worker_rate(events, valid, 2)
        results["two_workers"] = two
        results["two_workers_speedup"] = round(two["events_per_s"] / one["events_per_s"], 2)
    if "latency" in phases and one is not None:
        per_s = args.latency_rate or one["events_per_s"] / 2
        log(f"latency: one worker fed at {per_s:,.0f} events/s, then withdrawals")
        lat = bench.latency(events, per_s)
        results["latency"] = lat
        results["e2e_p50_ms"] = lat["p50_ms"]
        results["e2e_p99_ms"] = lat["p99_ms"]
        results["withdrawal_p50_ms"] = lat["withdrawal"]["p50_ms"]
        results["withdrawal_p99_ms"] = lat["withdrawal"]["p99_ms"]


GOALS: dict[str, tuple[str, float, str]] = {
    "engine_events_per_s": ("events/s", 100_000, ">="),
    "worker_events_per_s": ("events/s", 0, ""),
    "passthrough_events_per_s": ("events/s", 0, ""),
    "worker_vs_passthrough": ("ratio", 0.5, ">="),
    "e2e_p50_ms": ("ms", 0, ""),
    "e2e_p99_ms": ("ms", 50, "<="),
    "withdrawal_p50_ms": ("ms", 0, ""),
    "withdrawal_p99_ms": ("ms", 500, "<="),
    "two_workers_speedup": ("x", 1.7, ">="),
}


def print_table(results: dict[str, Any]) -> None:
    print(f"\n{'metric':<26} {'value':>12}  {'unit':<9} {'goal':<10} met")
    for key, (unit, goal, op) in GOALS.items():
        value = results.get(key)
        if value is None:
            continue
        met = ""
        if op:
            met = "yes" if (value >= goal if op == ">=" else value <= goal) else "NO"
        goal_text = f"{op} {goal:,g}" if op else ""
        print(f"{key:<26} {value:>12,}  {unit:<9} {goal_text:<10} {met}")
    machine = results["machine"]
    print(f"machine: {machine['cores']} cores, Python {machine['python']}")
    print(f"settings: {json.dumps(results.get('settings', {}))}\n")


if __name__ == "__main__":
    sys.exit(main())
