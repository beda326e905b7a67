"""``make bench-report`` (its offline part): peak memory and time of ``dry-run`` and
``diff-policy`` on synthetic files of 200k and 1M events (issue 27: both must stay flat in the
input's size; goal ≤ 300 MB at 1M events).

Each command runs as a subprocess, start-up included; the peak resident set is the kernel's
``ru_maxrss`` of that process (``os.wait4``). The input is ``purposegate sample`` output (the
file's order: ``dry-run`` sorts it all the same); ``diff-policy`` compares the shipped policy
with a copy whose routes no longer send ``phone``.

    python -m bench.offline --events 200000 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from policy.loader import DEFAULT_POLICY

CLI = Path(sys.executable).with_name("purposegate")
KEYS = Path(__file__).resolve().parents[1] / "tests" / "golden" / "keys.json"


def measure(argv: list[str]) -> tuple[float, float]:
    """``(seconds, peak RSS in MB)`` of one run of ``purposegate argv``."""
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - our own command
        [str(CLI), *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):  # diff-policy exits 1 when the policies differ
        raise RuntimeError(f"purposegate {argv[0]} exited {process.returncode}")
    return seconds, usage.ru_maxrss / 1024  # kilobytes on Linux


def sample(path: Path, events: int) -> None:
    """``events`` sample lines: chunks of at most 200k (a longer sample would run past today's
    clock, and its events to the DLQ), each its own seed, so the file is out of event-time
    order where chunks meet: the sort has work to do. Subjects: one per 20 events. Written
    straight to the file: a child's ``ru_maxrss`` includes the peak of this process it was
    spawned from, so this process must not hold the sample (it read 287 MB for both commands
    at 200k when it did)."""
    customers = str(max(1, events // 20))
    with path.open("w", encoding="utf-8") as out:
        for seed, start in enumerate(range(0, events, CHUNK), start=7):
            size = str(min(CHUNK, events - start))
            out.flush()
            subprocess.run(  # noqa: S603 - our own command
                [str(CLI), "sample", "--seed", str(seed), "--customers", customers,
                 "--events", size],
                check=True, stdout=out, stderr=subprocess.DEVNULL,
            )  # fmt: skip


CHUNK = 200_000


def bench(events: int, directory: Path) -> dict[str, object]:
    source = directory / f"sample-{events}.jsonl"
    if not source.exists():
        sample(source, events)
    new = directory / "no-phone.yaml"
    new.write_text(DEFAULT_POLICY.read_text(encoding="utf-8").replace("phone: keep", "phone: drop"))
    dry = measure(["dry-run", "--input", str(source), "--out", str(directory / f"out-{events}"),
                   "--keys", str(KEYS)])  # fmt: skip
    diff = measure(["diff-policy", str(DEFAULT_POLICY), str(new), "--input", str(source)])
    return {
        "events": events, "input_mb": round(source.stat().st_size / 2**20),
        "dry_run_s": round(dry[0], 1), "dry_run_peak_rss_mb": round(dry[1]),
        "diff_policy_s": round(diff[0], 1), "diff_policy_peak_rss_mb": round(diff[1]),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.offline")
    parser.add_argument("--events", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--dir", type=Path, help="keep the inputs here (default: a temp dir)")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-offline-") as temporary:
        directory = options.dir or Path(temporary)
        directory.mkdir(parents=True, exist_ok=True)
        for events in options.events:
            print(json.dumps(bench(events, directory)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
