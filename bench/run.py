"""``make bench``: how fast purposegate is, against the raw speed of its own client stack.

Everything runs on one real broker (``KAFKA_BOOTSTRAP``; ``deploy/bench.sh`` starts a local one)
and the same synthetic data (``purposegate sample``), in one run:

* ``engine``: the one flow's decide stage (``flow.path``: state, ``step``, inspection,
  projection) over the memory source on one core, no I/O (``bench.bench_engine``).
* ``worker``: one ``purposegate worker`` subprocess over a pre-produced stream on a fresh topic
  prefix. Start of consumption = the CreateTime of the first audit record, end = that of the
  last one (the worker's producer stamps them); the run ends when the audit end offsets reach
  the number of valid inputs (counted by end offsets, nothing is decoded).
* ``replay``: the fair baseline (``bench.replay``): a plain aiokafka program that consumes the
  same inputs and writes again exactly the records the worker wrote for each of them (topics,
  partitions, keys, values, headers, the changelog), committing on the worker's cadence with a
  flush first. ``worker_vs_replay`` = worker rate / replay rate.
* ``passthrough``: the raw-client reference, a minimal raw aiokafka consume → fastavro
  decode → fastavro encode → produce loop in this process over the same input topics, ONE
  output per input, no headers, no commits, same acks/linger/batch.
* ``two_workers``: two workers in one group over a fresh copy of the stream, started together.
* ``e2e``: a worker fed at half of the measured worker rate; latency = the audit record's
  CreateTime minus the input's produce time (same clock).
* ``withdrawal``: while the e2e phase's paced stream runs (the same load), grant marketing
  consent, then produce a withdrawal and immediately orders of that customer; the time from
  the withdrawal's produce to the audit record of the first order (blocked, ``no_consent``).
* ``subjects``: 10k, 100k and 1M customers' consent state seeded into the table's changelog;
  a worker's recovery time on an empty data dir, its memory and its rate (``bench.million``).

Each phase's wall time is printed and kept in ``phase_seconds``.

    .venv/bin/python -m bench.run [--events 200000] [--only worker,replay] [--subjects 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.bench_engine import BENCH_KEYS, rates
from bench.million import scaling
from bench.outputs import plan
from bench.passthrough import PRODUCER_MAX_BATCH, passthrough
from bench.phases import Bench
from bench.plot import PNG, RESULTS, plot
from bench.replay import COMMIT_INTERVAL_S, create_outputs, replay
from bench.stream import Event, log, sample
from bench.table import print_table
from bench.workers import PURPOSEGATE
from config.settings import REPO_ROOT, Settings
from policy.compile import CompiledPolicy, compile_policy
from policy.loader import load_policy
from wire import Codec
from wire.generate import load_checked
from wire.topic_schemas import wire_schemas

PHASES = ("engine", "worker", "replay", "passthrough", "two", "latency", "subjects")


# -- the run ----------------------------------------------------------------------------------


def engine_rate(compiled: CompiledPolicy, seconds: float) -> dict[str, Any]:
    """The flow's decide stage on the memory source (``bench.bench_engine.rates``): alone;
    with the audit record's bytes as the worker makes them (``Codec.encode_audit``); and with
    every record of the event encoded (outputs, tombstones, audit, headers: the worker's whole
    decide step)."""
    measured = rates(compiled, 500, 20_000, seconds)
    keys = (
        "decide_events_per_s",
        "decide_without_inspection_events_per_s",
        "decide_and_audit_events_per_s",
        "decide_and_encode_events_per_s",
        "outputs_per_event",
    )
    return {key: measured[key] for key in keys}


def engine_summary(engine: dict[str, Any]) -> dict[str, Any]:
    """The engine's figures under their result names (``bench.table``), inspection's cost
    side by side: the decide stage with and without the inspection of free-form values."""
    return {
        "engine_events_per_s": engine["decide_events_per_s"],
        "engine_without_inspection_events_per_s": engine["decide_without_inspection_events_per_s"],
        "engine_with_audit_events_per_s": engine["decide_and_audit_events_per_s"],
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=int(os.environ.get("BENCH_EVENTS", "200000")))
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--withdrawals", type=int, default=30)
    parser.add_argument("--engine-seconds", type=float, default=3.0)
    parser.add_argument("--timeout", type=float, default=600.0, help="per phase, seconds")
    parser.add_argument(
        "--only",
        default=",".join(PHASES),
        help=f"comma-separated phases ({', '.join(PHASES)})",
    )
    parser.add_argument(
        "--subjects", default="10000,100000,1000000", help="subject counts of the subjects phase"
    )
    parser.add_argument(
        "--subject-events", type=int, default=20_000, help="events per subjects run"
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
    store = load_checked(policy)
    codec = Codec(store, wire_format="single-object")
    codec.bind_topics(wire_schemas(policy, store))
    results: dict[str, Any] = {
        "at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }
    began = time.monotonic()
    if "engine" in phases:
        with timed(results, "engine"):
            log("engine: the flow's decide stage over the memory source, one core, no I/O")
            engine = engine_rate(compiled, args.engine_seconds)
        results["engine"] = engine
        results.update(engine_summary(engine))
    workdir = REPO_ROOT / ".run" / "bench" / datetime.now().strftime("%Y%m%dT%H%M%S")
    workdir.mkdir(parents=True, exist_ok=True)
    keys_file = workdir / "keys.json"
    subprocess.run([str(PURPOSEGATE), "keys", "--init", str(keys_file)], check=True)
    run_broker_phases(Bench(args, base, compiled, codec, workdir, keys_file), phases, results)
    results["settings"] = settings_summary(args, base)
    results.setdefault("phase_seconds", {})["total"] = round(time.monotonic() - began, 1)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print_table(results)
    log(f"written {args.out}")
    if args.plot:
        plot(results, PNG)
        log(f"written {PNG}")
    return 0


def settings_summary(args: argparse.Namespace, base: Settings) -> dict[str, Any]:
    """The knobs of this run, as the workers saw them (environment, else the defaults)."""
    return {
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
        "replay_commit_interval_s": COMMIT_INTERVAL_S,
        "wire_format": "single-object",
        "broker": base.kafka_bootstrap,
    }


def run_broker_phases(bench: Bench, phases: set[str], results: dict[str, Any]) -> None:
    args = bench.args
    if phases & {"worker", *AFTER_WORKER}:
        with timed(results, "sample"):
            log(f"sample: {args.events:,} events, encoding")
            events, valid = sample(args.events, bench.compiled, bench.codec)
        results["valid_events"] = valid
        with timed(results, "worker"):
            log("worker: one `purposegate worker` over the pre-produced stream")
            one = bench.worker_rate(events, valid, 1)
        results["worker"] = one
        results["worker_events_per_s"] = one["events_per_s"]
        for name, run in AFTER_WORKER.items():
            if name in phases:
                with timed(results, name):
                    run(bench, events, valid, one, results)
    if "subjects" in phases:
        with timed(results, "subjects"):
            subjects_phase(bench, results)


def passthrough_phase(
    bench: Bench, events: list[Event], valid: int, one: dict[str, Any], results: dict[str, Any]
) -> None:
    log("passthrough: raw aiokafka consume → fastavro decode/encode → produce, 1:1")
    settings = bench.base.model_copy(update={"topic_prefix": one["prefix"]})
    raw = asyncio.run(passthrough(settings, bench.codec.store, len(events)))
    results["passthrough"] = raw
    results["passthrough_events_per_s"] = raw["events_per_s"]
    results["worker_vs_passthrough"] = round(one["events_per_s"] / raw["events_per_s"], 3)


def two_phase(
    bench: Bench, events: list[Event], valid: int, one: dict[str, Any], results: dict[str, Any]
) -> None:
    log("two workers in one group over a fresh copy of the stream")
    two = bench.worker_rate(events, valid, 2)
    results["two_workers"] = two
    results["two_workers_speedup"] = round(two["events_per_s"] / one["events_per_s"], 2)


@contextlib.contextmanager
def timed(results: dict[str, Any], phase: str) -> Iterator[None]:
    """Record (and log) the wall seconds of a phase in ``results["phase_seconds"]``."""
    began = time.monotonic()
    try:
        yield
    finally:
        seconds = round(time.monotonic() - began, 1)
        results.setdefault("phase_seconds", {})[phase] = seconds
        log(f"{phase}: {seconds:,.1f} s")


def replay_phase(
    bench: Bench, events: list[Event], valid: int, one: dict[str, Any], results: dict[str, Any]
) -> None:
    log("replay: the worker's own records, grouped per input, written again by plain aiokafka")
    source = bench.settings_of(one["prefix"])
    grouped = plan(source, bench.codec, bench.keys_file)
    target = create_outputs(source, grouped)
    replayed = asyncio.run(replay(source, target, grouped))
    replayed["plan"] = grouped.totals()
    results["replay"] = replayed
    results["replay_events_per_s"] = replayed["events_per_s"]
    results["worker_vs_replay"] = round(one["events_per_s"] / replayed["events_per_s"], 3)


def latency_phase(
    bench: Bench, events: list[Event], valid: int, one: dict[str, Any], results: dict[str, Any]
) -> None:
    per_s = bench.args.latency_rate or one["events_per_s"] / 2
    log(f"latency: one worker fed at {per_s:,.0f} events/s, withdrawals meanwhile")
    lat = bench.latency(events, per_s)
    results["latency"] = lat
    results["e2e_p50_ms"] = lat["p50_ms"]
    results["e2e_p99_ms"] = lat["p99_ms"]
    results["withdrawal_p50_ms"] = lat["withdrawal"]["p50_ms"]
    results["withdrawal_p99_ms"] = lat["withdrawal"]["p99_ms"]


def subjects_phase(bench: Bench, results: dict[str, Any]) -> None:
    sizes = [int(n) for n in bench.args.subjects.split(",") if n]
    scaled = scaling(bench, sizes, bench.args.subject_events)
    results["subjects"] = scaled
    largest = max(scaled["runs"], key=lambda run: run["subjects"])
    results["million_subjects_count"] = largest["subjects"]  # the headline run's size
    results["million_subjects_recovery_s"] = largest["recovery_s"]
    results["million_subjects_rss_mib"] = largest["rss_peak_mib"]
    results["million_subjects_events_per_s"] = largest["events_per_s"]


Phase = Callable[[Bench, list[Event], int, dict[str, Any], dict[str, Any]], None]

#: The phases that compare with the one-worker run, in the order they run.
AFTER_WORKER: dict[str, Phase] = {
    "replay": replay_phase,
    "passthrough": passthrough_phase,
    "two": two_phase,
    "latency": latency_phase,
}


if __name__ == "__main__":
    sys.exit(main())
