"""Sorting a stream larger than memory: sorted runs spilled to temporary files, then merged.

``dry-run`` and ``diff-policy`` decide a file in event-time order (docs/contract.md §2), whatever
the order of its lines. Sorting in memory holds every event at once (635 MB for 200k events);
here at most ``run_size`` items are held while reading, and one chunk per run while merging
(``heapq.merge``), at most ``FAN_IN`` runs at once: more runs than that (a longer input) are
first merged in consecutive groups into fewer, longer runs, so memory stays flat in the input's
size (merging every run at once held a chunk of each: 81 MB of diff-policy's events at 1M,
issue 27). A stream no longer than one run never touches the disk. The result is the one
``sorted(items, key=key)`` gives: runs are cut in input order, merged in groups of consecutive
runs, and ``heapq.merge`` keeps earlier runs first on equal keys.

The temporary files hold the items pickled (our own files, read back by this process only) in
a private temporary directory, removed when the iterator ends or is closed.

>>> list(external_sorted([5, 3, 9, 1, 4], key=lambda x: x, run_size=2))
[1, 3, 4, 5, 9]
"""

from __future__ import annotations

import heapq
import itertools
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Final, TypeVar

T = TypeVar("T")

#: Items held in memory while reading: about 60 MB of input events.
RUN_SIZE: Final = 20_000
#: Items pickled together: what each run holds in memory while merging.
CHUNK: Final = 64
#: Runs merged at once: at most ``FAN_IN * CHUNK`` items held while merging.
FAN_IN: Final = 64


def external_sorted(
    items: Iterable[T], key: Callable[[T], Any], run_size: int | None = None
) -> Iterator[T]:
    """``items`` in ``key`` order, stably, holding at most ``run_size`` (default ``RUN_SIZE``)
    of them while reading."""
    run_size = run_size or RUN_SIZE
    with tempfile.TemporaryDirectory(prefix="purposegate-sort-") as directory:
        runs: list[Path] = []
        buffer: list[T] = []
        for item in items:
            buffer.append(item)
            if len(buffer) >= run_size:
                buffer.sort(key=key)
                runs.append(_spill(buffer, Path(directory) / f"run-{len(runs)}"))
                buffer = []
        buffer.sort(key=key)
        if not runs:  # it fitted in one run: no file
            yield from buffer
            return
        if buffer:
            runs.append(_spill(buffer, Path(directory) / f"run-{len(runs)}"))
            buffer = []
        generation = 0
        while len(runs) > FAN_IN:  # consecutive groups, in order: the sort stays stable
            generation += 1
            groups = [runs[start : start + FAN_IN] for start in range(0, len(runs), FAN_IN)]
            runs = [
                _spill(_merged(group, key), Path(directory) / f"merged-{generation}-{number}")
                for number, group in enumerate(groups)
            ]
        yield from _merged(runs, key)


def _merged(runs: list[Path], key: Callable[[Any], Any]) -> Iterator[Any]:
    """The items of ``runs`` in ``key`` order; each run file is removed once read."""
    return heapq.merge(*(_read(path) for path in runs), key=key)


def _spill(items: Iterable[T], path: Path) -> Path:
    iterator = iter(items)
    with path.open("wb") as handle:
        while chunk := list(itertools.islice(iterator, CHUNK)):
            pickle.dump(chunk, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _read(path: Path) -> Iterator[Any]:
    with path.open("rb") as handle:
        while True:
            try:
                chunk = pickle.load(handle)  # noqa: S301 (a file this process wrote, see above)
            except EOFError:
                break
            yield from chunk
    path.unlink()  # merged into a longer run, or read to the end: no longer needed
