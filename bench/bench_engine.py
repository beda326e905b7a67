"""Benchmark (not a test): the one flow's decide stage (``flow.path``) on one core, events/s.

The memory runner of the flow: a synthetic stream from ``purposegate sample`` goes through the
one door and is sorted into decision order once (not timed); then each timed pass decides the
whole stream with a fresh :class:`~flow.path.InOrder` (every subject's state carried from one
event to the next, state changes included, as ``dry-run`` and the worker decide), repeated
until the run lasts a few seconds. In the same run, side by side: the same without the
inspection of free-form values (``policy.free_form``); with the audit record's bytes
(``Codec.encode_audit``); and with every record of each event encoded as the worker sends it
(``flow.path.kafka_records``: outputs, tombstones, audit, headers). Prints a summary and
appends one JSON line to ``bench/results-engine.jsonl``.

    .venv/bin/python -m bench.bench_engine [--customers 500] [--events 20000] [--seconds 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flow.path import InOrder, kafka_records
from policy.compile import CompiledPolicy, compile_policy
from policy.decision import Decision
from policy.keys import PseudonymKeys
from policy.loader import load_policy
from policy.validation import InputEvent
from wire import Codec
from wire.event_source import in_decision_order
from wire.generate import load_checked
from wire.input_lines import read_line
from wire.sample import sample_lines
from wire.topic_schemas import wire_schemas

RESULTS = Path(__file__).resolve().parent / "results-engine.jsonl"
BENCH_KEYS = PseudonymKeys(
    {
        "affectus": b"bench-key-affectus-" + b"0" * 32,
        "enfinity": b"bench-key-enfinity-" + b"0" * 32,
        "septem-cargo": b"bench-key-septem-cargo-" + b"0" * 32,
        "septem-communications": b"bench-key-septem-communications-" + b"0" * 32,
        "septem-financial": b"bench-key-septem-financial-" + b"0" * 32,
        "septem-souken": b"bench-key-souken-" + b"0" * 32,
        "sptm-international": b"bench-key-sptm-international-" + b"0" * 32,
    }
)


def prepare(customers: int, events: int, compiled: CompiledPolicy) -> tuple[list[InputEvent], int]:
    """The sample stream's valid events in decision order, and how many outputs one pass
    makes (the flow's memory source)."""
    checked = []
    for position, line in enumerate(sample_lines(seed=42, customers=customers, events=events)):
        _, event = read_line(line.encode("utf-8"), compiled, datetime.now(UTC))  # the one door
        if isinstance(event, InputEvent):
            checked.append((position, event))
    work = [event for _, event in in_decision_order(checked)]
    run = InOrder(compiled)
    outputs = sum(len(run.decide(event).outputs) for event in work)
    return work, outputs


def without_inspection(compiled: CompiledPolicy) -> CompiledPolicy:
    """The same compiled policy with no free-form value inspected (for the side-by-side rate
    only: the worker never runs without it)."""
    return dataclasses.replace(compiled, inspectors={})


def bench_codec(compiled: CompiledPolicy) -> Codec:
    """A single-object codec bound to the policy's topics, as the worker binds its own."""
    store = load_checked(compiled.policy)
    codec = Codec(store, wire_format="single-object")
    codec.bind_topics(wire_schemas(compiled.policy, store))
    return codec


Sink = Callable[[Decision], object]


def decided_only(decision: Decision) -> object:
    """The decide stage alone: the decision is the result."""
    return decision


def audit_bytes(codec: Codec) -> Sink:
    """The audit record's bytes, as the worker makes them."""
    return codec.encode_audit


def every_record(codec: Codec) -> Sink:
    """Every record of the event, encoded as the worker sends it."""
    return lambda decision: kafka_records(codec, decision)


def rate(
    work: list[InputEvent], compiled: CompiledPolicy, seconds: float, sink: Sink
) -> tuple[float, int]:
    """Events per second of CPU time through the flow's decide stage into ``sink``; passes over
    ``work`` until ``seconds`` of this thread's CPU time (one core's rate, whatever else the
    machine runs: make bench starts the broker just before; it is still warming up)."""
    done, started = 0, time.thread_time()
    while True:
        run = InOrder(compiled)
        for event in work:
            sink(run.decide(event))
        done += len(work)
        elapsed = time.thread_time() - started
        if elapsed >= seconds:
            return done / elapsed, done


def rates(compiled: CompiledPolicy, customers: int, events: int, seconds: float) -> dict[str, Any]:
    """The four rates side by side in one run (``make bench``'s engine phase and ``main``): the
    decide stage alone, without inspection, with the audit record's bytes, with every record
    encoded."""
    work, outputs = prepare(customers, events, compiled)
    codec = bench_codec(compiled)
    decide_rate, decided = rate(work, compiled, seconds, decided_only)
    bare_rate, _ = rate(work, without_inspection(compiled), seconds, decided_only)
    audit_rate, _ = rate(work, compiled, seconds, audit_bytes(codec))
    encode_rate, _ = rate(work, compiled, seconds, every_record(codec))
    return {
        "distinct_events": len(work),
        "outputs_per_event": round(outputs / max(1, len(work)), 3),
        "events_decided": decided,
        "decide_events_per_s": round(decide_rate),
        "decide_without_inspection_events_per_s": round(bare_rate),
        "decide_and_audit_events_per_s": round(audit_rate),
        "decide_and_encode_events_per_s": round(encode_rate),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()

    compiled = compile_policy(load_policy(), BENCH_KEYS)
    measured = rates(compiled, args.customers, args.events, args.seconds)
    result = {
        "bench": "flow.decide",
        "at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "policy_version": compiled.version,
        **measured,
        "target_events_per_s": 100_000,
    }
    print(
        f"flow decide (state, step, inspect, project): {result['decide_events_per_s']:,} "
        f"events/s (without inspection {result['decide_without_inspection_events_per_s']:,}) "
        f"({result['outputs_per_event']} outputs/event, {result['distinct_events']} distinct "
        f"events); with the audit record's bytes: {result['decide_and_audit_events_per_s']:,} "
        f"events/s; with every record encoded: {result['decide_and_encode_events_per_s']:,} "
        "events/s"
    )
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
