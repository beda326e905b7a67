"""The goals of ``make bench`` (issue 23: the hot path by design) and the table it prints."""

from __future__ import annotations

import json
from typing import Any

#: key -> (unit, goal, comparison); no comparison: reported, no goal.
GOALS: dict[str, tuple[str, float, str]] = {
    "worker_vs_replay": ("ratio", 0.5, ">="),
    "worker_events_per_s": ("events/s", 3_000, ">="),
    "replay_events_per_s": ("events/s", 0, ""),
    "passthrough_events_per_s": ("events/s", 0, ""),
    "e2e_p50_ms": ("ms", 0, ""),
    "e2e_p99_ms": ("ms", 250, "<="),
    "withdrawal_p50_ms": ("ms", 0, ""),
    "withdrawal_p99_ms": ("ms", 100, "<="),
    "two_workers_speedup": ("x", 1.6, ">="),
    "engine_events_per_s": ("events/s", 100_000, ">="),
    "engine_with_audit_events_per_s": ("events/s", 0, ""),
    "engine_without_inspection_events_per_s": ("events/s", 0, ""),
    "million_subjects_recovery_s": ("s", 60, "<="),
    "million_subjects_rss_mib": ("MiB", 1536, "<="),
    "million_subjects_events_per_s": ("events/s", 0, ""),
}


def met(key: str, value: float) -> bool | None:
    """Whether ``value`` meets the goal of ``key`` (None: no goal)."""
    _, goal, op = GOALS[key]
    if not op:
        return None
    return value >= goal if op == ">=" else value <= goal


def print_table(results: dict[str, Any]) -> None:
    print(f"\n{'metric':<32} {'value':>12}  {'unit':<9} {'goal':<10} met")
    for key, (unit, goal, op) in GOALS.items():
        value = results.get(key)
        if value is None:
            continue
        ok = met(key, value)
        mark = "" if ok is None else ("yes" if ok else "NO")
        goal_text = f"{op} {goal:,g}" if op else ""
        print(f"{key:<32} {value:>12,}  {unit:<9} {goal_text:<10} {mark}")
    cpu = results.get("latency", {}).get("cpu", {})
    if "worker_cores" in cpu:
        on, waiting = cpu.get("worker_main_on_cpu"), cpu.get("worker_main_waiting_for_cpu")
        print(
            f"latency phase, cores used: worker {cpu['worker_cores']} (main thread on a CPU "
            f"{on}, waiting for one {waiting}), broker {cpu.get('broker_cores')}, "
            f"load generator {cpu.get('load_cores')}"
        )
    phases = results.get("phase_seconds", {})
    print("phases (s): " + ", ".join(f"{k} {v:,.0f}" for k, v in phases.items()))
    machine = results["machine"]
    print(f"machine: {machine['cores']} cores, Python {machine['python']}")
    print(f"settings: {json.dumps(results.get('settings', {}))}\n")
