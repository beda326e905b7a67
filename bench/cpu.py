"""Who used the machine's CPUs during a phase, from ``/proc`` (Linux; nothing elsewhere).

The latency goals are measured with the worker, the broker and the load generator (this
process) on the same two cores. :class:`CpuWindow` reads, at the start and the end of a window,
each process's CPU time (``/proc/PID/stat``: user + system, every thread) and the worker's main
thread's scheduler statistics (``/proc/PID/task/PID/schedstat``: nanoseconds on a CPU, and
nanoseconds *runnable but waiting for a CPU*). The last one is the direct measure of contention:
time the worker had work and no core to run it on.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of every thread of ``pid`` so far; None when unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # after the ")" the fields start at "state" (field 3): utime is field 14, stime 15
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S


def main_thread_sched_s(pid: int) -> tuple[float, float] | None:
    """(seconds on a CPU, seconds runnable and waiting for a CPU) of ``pid``'s main thread."""
    try:
        on_cpu, waiting, _ = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()
    except (OSError, ValueError):
        return None
    return int(on_cpu) / 1e9, int(waiting) / 1e9


@dataclass
class CpuWindow:
    """CPU shares of named processes over a wall-clock window (:meth:`start`, :meth:`stop`)."""

    pids: dict[str, int | None]
    #: The process whose main thread's on-CPU and waiting-for-CPU shares are reported.
    worker: str = "worker"
    _began: float = 0.0
    _cpu: dict[str, float | None] = field(default_factory=dict)
    _sched: tuple[float, float] | None = None

    def start(self) -> None:
        self._began = time.monotonic()
        self._cpu = {name: _cpu(pid) for name, pid in self.pids.items()}
        self._sched = _sched(self.pids.get(self.worker))

    def stop(self) -> dict[str, Any]:
        """Shares of one core (1.0 = a whole core) over the window, per process, and the worker
        main thread's; keys are missing for what could not be read."""
        wall = max(time.monotonic() - self._began, 1e-9)
        out: dict[str, Any] = {"window_s": round(wall, 1), "cores": os.cpu_count()}
        for name, pid in self.pids.items():
            before, after = self._cpu.get(name), _cpu(pid)
            if before is not None and after is not None:
                out[f"{name}_cores"] = round((after - before) / wall, 2)
        sched = _sched(self.pids.get(self.worker))
        if self._sched is not None and sched is not None:
            out["worker_main_on_cpu"] = round((sched[0] - self._sched[0]) / wall, 2)
            out["worker_main_waiting_for_cpu"] = round((sched[1] - self._sched[1]) / wall, 2)
        return out


def _cpu(pid: int | None) -> float | None:
    return None if pid is None else process_cpu_s(pid)


def _sched(pid: int | None) -> tuple[float, float] | None:
    return None if pid is None else main_thread_sched_s(pid)


def broker_pid() -> int | None:
    """The local broker's pid (``deploy/kafka/kafka.sh`` writes it), if this run started one."""
    port = os.environ.get("KAFKA_PORT")
    pid_file = Path(__file__).resolve().parent.parent / ".run" / f"kafka-{port}" / "kafka.pid"
    try:
        return int(pid_file.read_text().split()[0]) if port else None
    except (OSError, ValueError, IndexError):
        return None
