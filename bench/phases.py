"""The broker phases of ``make bench``: worker throughput (one and two workers), end-to-end
latency and withdrawal latency, each on a fresh topic prefix."""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.audit import AuditReader, audit_done, first_last_timestamps, percentile
from bench.cpu import CpuWindow, broker_pid
from bench.lines import consent_line, order_line
from bench.passthrough import PASSTHROUGH_TOPIC
from bench.stream import Event, produce, produce_paced, send_now
from bench.workers import WorkerProcess, free_port
from broker.admin import TopicSpec, ensure_topics, policy_topic_specs
from broker.clients import producer
from config.settings import Settings
from policy import topics
from policy.compile import CompiledPolicy
from wire import Codec, Decoded
from wire.input_lines import Prepared
from wire.input_lines import prepare as prepare_lines

#: Worker settings taken from this process's environment (the defaults otherwise).
WORKER_KNOBS = (
    "PURPOSEGATE_STREAM_BUFFER_MAXSIZE",
    "PURPOSEGATE_PRODUCER_LINGER_S",
    "PURPOSEGATE_LOG_LEVEL",
    "PURPOSEGATE_DECIDE_BATCH_MAX",
    "PURPOSEGATE_DECIDE_COALESCE_MS",
)


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
        """Settings of a fresh topic prefix and app id."""
        return self.settings_of(f"b{uuid.uuid4().hex[:8]}-{label}.")

    def settings_of(self, prefix: str) -> Settings:
        """The settings the workers of ``prefix`` ran with."""
        return self.base.model_copy(
            update={
                "topic_prefix": prefix,
                "app_id": f"purposegate-{prefix.rstrip('.')}",
                "pseudonym_keys_file": self.keys_file,
            }
        )

    def create_topics(self, settings: Settings) -> None:
        specs = policy_topic_specs(settings, self.compiled.policy)
        specs.append(TopicSpec(PASSTHROUGH_TOPIC, settings.partitions))
        ensure_topics(settings, specs)

    def worker_env(self) -> dict[str, str]:
        # the bench's codec writes single-object records; no schema registry is started
        env: dict[str, str] = {"PURPOSEGATE_WIRE_FORMAT": "single-object"}
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
            cpu = CpuWindow(
                {"worker": worker.process.pid, "broker": broker_pid(), "load": os.getpid()}
            )
            # The withdrawals are measured under the same load: while the paced stream runs.
            with ThreadPoolExecutor(max_workers=1) as pool:
                paced = pool.submit(produce_paced, settings, events[:count], per_s)
                cpu.start()
                time.sleep(min(2.0, self.args.latency_seconds / 4))
                withdrawal = self.withdrawals(settings)
                withdrawal["under_load"] = not paced.done()
                sent_at = paced.result()
                shares = cpu.stop()
            arrived = watch.timestamps(set(sent_at), timeout=self.args.timeout)
            watch.close()
            delays = sorted(arrived[e] - sent_at[e] for e in sent_at if e in arrived)
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
            # who used the two cores while the paced stream ran (bench/cpu.py)
            "cpu": shares,
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
