"""``bench/results.json`` → ``docs/bench.png``: throughput bars, latency percentiles, and the
worker's recovery time, memory and rate against the number of subjects.

.venv/bin/python -m bench.plot [--results bench/results.json] [--out docs/bench.png]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from config.settings import REPO_ROOT

RESULTS = Path(__file__).resolve().parent / "results.json"
PNG = REPO_ROOT / "docs" / "bench.png"


def plot(results: dict[str, Any], out: Path) -> None:
    import matplotlib  # a dev-only dependency, imported when a plot is asked for

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 4.6))
    _throughput(left, results)
    _latency(middle, results)
    _scaling(right, results)
    machine = results.get("machine", {})
    fig.suptitle(
        f"purposegate make bench — {machine.get('cores')} cores, Python {machine.get('python')}"
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)


def _throughput(left: Any, results: dict[str, Any]) -> None:
    bars = [
        ("passthrough\n(raw, 1:1)", results.get("passthrough_events_per_s")),
        ("replay\n(same records)", results.get("replay_events_per_s")),
        ("1 worker", results.get("worker_events_per_s")),
        ("2 workers", (results.get("two_workers") or {}).get("events_per_s")),
    ]
    colours = dict(zip((b[0] for b in bars), ("#888", "#555", "#2a7", "#1a5"), strict=True))
    shown = [(label, value) for label, value in bars if value]
    left.bar([b[0] for b in shown], [b[1] for b in shown], color=[colours[b[0]] for b in shown])
    for i, (_, value) in enumerate(shown):
        left.text(i, value, f"{value:,.0f}", ha="center", va="bottom")
    left.set_ylabel("input events / s")
    events = (results.get("settings") or {}).get("events", 0)
    left.set_title(f"Throughput (same broker, same {events:,}-event stream)")


def _latency(right: Any, results: dict[str, Any]) -> None:
    groups = [
        ("e2e at ½ max rate", results.get("e2e_p50_ms"), results.get("e2e_p99_ms"), 250),
        ("withdrawal", results.get("withdrawal_p50_ms"), results.get("withdrawal_p99_ms"), 100),
    ]
    xs = range(len(groups))
    right.bar([x - 0.2 for x in xs], [g[1] or 0 for g in groups], 0.4, label="p50")
    right.bar([x + 0.2 for x in xs], [g[2] or 0 for g in groups], 0.4, label="p99")
    for x, group in zip(xs, groups, strict=True):
        right.hlines(group[3], x - 0.45, x + 0.45, colors="red", linestyles="dashed")
        right.text(x - 0.45, group[3] * 1.08, f"goal p99 ≤ {group[3]} ms", color="red", fontsize=8)
    right.set_xticks(list(xs), [g[0] for g in groups])
    right.set_ylabel("ms")
    right.set_yscale("log")
    right.set_title("Latency")
    right.legend()


def _scaling(right: Any, results: dict[str, Any]) -> None:
    runs = sorted((results.get("subjects") or {}).get("runs", []), key=lambda r: r["subjects"])
    right.set_title("One worker against subjects in its table")
    if not runs:
        return
    xs = [r["subjects"] for r in runs]
    right.plot(xs, [r["rss_peak_mib"] for r in runs], "o-", color="#2a7", label="peak RSS, MiB")
    right.plot(xs, [r["recovery_s"] for r in runs], "s-", color="#c52", label="start → ready, s")
    right.plot(
        xs, [r["events_per_s"] / 10 for r in runs], "^-", color="#36c", label="events/s ÷ 10"
    )
    right.axhline(1536, color="#2a7", linestyle="dashed", linewidth=0.8)
    right.axhline(60, color="#c52", linestyle="dashed", linewidth=0.8)
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("subjects (customers with consent state)")
    right.legend(fontsize=8)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--out", type=Path, default=PNG)
    args = parser.parse_args(argv)
    plot(json.loads(args.results.read_text(encoding="utf-8")), args.out)
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
