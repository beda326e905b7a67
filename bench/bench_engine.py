"""Benchmark (not a test): the engine's ``step`` on one core, events per second.

Takes a synthetic stream from ``purposegate sample``, validates it once (not timed), steps
through it once to know each event's consent state at its time (not timed), then times
``step`` over the order, inquiry and campaign events (those that leave the state as it is),
repeated until the run lasts a few seconds. ``audit_record()`` is timed separately, as the
pipeline calls it once per event too; so is ``step_and_encode``: step, then every record of the
event encoded with the ``Codec`` and stamped with its headers (what the worker's decider pays
per event besides Kafka). Prints a summary and appends one JSON line to
``bench/results-engine.jsonl``. ``step`` is also timed without the inspection of free-form
values (``policy.free_form``), in the same run, so that its cost shows side by side.

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

from policy import topics
from policy.compile import CompiledPolicy, compile_policy
from policy.keys import PseudonymKeys
from policy.loader import load_policy
from policy.state import SubjectState
from policy.step import step
from policy.validation import InputEvent
from wire import Codec
from wire.generate import load_checked
from wire.headers import (
    audit_header_bytes,
    encoded,
    stamp_headers,
    tombstone_headers,
)
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


def prepare(
    customers: int, events: int, compiled: CompiledPolicy
) -> tuple[list[tuple[InputEvent, SubjectState]], int]:
    """(event, that customer's state at the time) pairs for every routable event."""
    states: dict[str, SubjectState] = {}
    work: list[tuple[InputEvent, SubjectState]] = []
    outputs = 0
    for line in sample_lines(seed=42, customers=customers, events=events):
        _, checked = read_line(line.encode("utf-8"), compiled, datetime.now(UTC))  # the one door
        if not isinstance(checked, InputEvent):
            continue
        state = states.get(checked.customer_id, SubjectState.empty())
        new_state, decision = step(checked, state, compiled)
        if decision.state_change is None:  # an event to route, not a change of state
            work.append((checked, state))
            outputs += len(decision.outputs)
        states[checked.customer_id] = new_state
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


Record = tuple[str, bytes, bytes | None, list[tuple[str, bytes]]]


def step_and_encode(codec: Codec) -> Callable[[InputEvent, SubjectState, CompiledPolicy], object]:
    """``run`` for ``rate``: step, then every record of the event (outputs, tombstones, the
    audit record) encoded with its key and headers, as ``agents.pipeline`` does per event."""

    def run(event: InputEvent, state: SubjectState, compiled: CompiledPolicy) -> list[Record]:
        _, decision = step(event, state, compiled)
        version = decision.policy_version
        out: list[Record] = [
            (o.topic, o.key.encode(), codec.encode_for(o.topic, o.value), stamp_headers(o.value))
            for o in decision.outputs
        ]
        out += [
            (
                t.topic,
                t.key.encode(),
                None,
                encoded(tombstone_headers(t.reason, t.event_id, version)),
            )
            for t in decision.tombstones
        ]
        stamp = audit_header_bytes(decision.event_id, version, decision.source_topic)
        audit = codec.encode_audit(decision)
        out.append((topics.AUDIT, decision.customer_id.encode(), audit, stamp))
        return out

    return run


def rate(
    work: list[tuple[InputEvent, SubjectState]],
    compiled: CompiledPolicy,
    seconds: float,
    run: Callable[[InputEvent, SubjectState, CompiledPolicy], object],
) -> tuple[float, int]:
    # CPU time of this thread, not wall time: one core's rate, whatever else the machine runs
    # (make bench starts the broker just before; it is still warming up)
    done, started = 0, time.thread_time()
    while True:
        for event, state in work:
            run(event, state, compiled)
        done += len(work)
        elapsed = time.thread_time() - started
        if elapsed >= seconds:
            return done / elapsed, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()

    compiled = compile_policy(load_policy(), BENCH_KEYS)
    work, outputs = prepare(args.customers, args.events, compiled)
    decide_rate, decided = rate(work, compiled, args.seconds, step)
    bare_rate, _ = rate(work, without_inspection(compiled), args.seconds, step)
    full_rate, _ = rate(
        work, compiled, args.seconds, lambda e, s, c: step(e, s, c)[1].audit_record()
    )
    encode_rate, _ = rate(work, compiled, args.seconds, step_and_encode(bench_codec(compiled)))
    result = {
        "bench": "engine.step",
        "at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "policy_version": compiled.version,
        "distinct_events": len(work),
        "outputs_per_event": round(outputs / max(1, len(work)), 3),
        "events_decided": decided,
        "decide_events_per_s": round(decide_rate),
        "decide_without_inspection_events_per_s": round(bare_rate),
        "decide_and_audit_events_per_s": round(full_rate),
        "decide_and_encode_events_per_s": round(encode_rate),
        "target_events_per_s": 100_000,
    }
    print(
        f"step (decide + project + inspect): {decide_rate:,.0f} events/s "
        f"(without inspection {bare_rate:,.0f}) "
        f"({result['outputs_per_event']} outputs/event, {len(work)} distinct events); "
        f"with audit_record(): {full_rate:,.0f} events/s; "
        f"step + every record encoded: {encode_rate:,.0f} events/s"
    )
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
