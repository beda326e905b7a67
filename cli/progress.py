"""Progress of long commands (``produce``, ``dry-run``, ``dump``) on stderr, only when stderr is
a terminal: a person watching sees the rate and the time left; a pipe, a log file or a test
sees nothing (tqdm draws with carriage returns that would litter them).

>>> import io
>>> with bar(3, "records", stream=io.StringIO()) as b:
...     list(through([1, 2, 3], b))
[1, 2, 3]
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NoReturn, TextIO, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def bar(
    total: int | None, unit: str, *, desc: str = "", stream: TextIO | None = None
) -> tqdm[NoReturn]:
    """A progress bar on ``stream`` (stderr), silent when that is not a terminal."""
    out = stream if stream is not None else sys.stderr
    shown = tqdm(
        total=total,
        unit=unit,
        desc=desc or None,
        file=out,
        disable=not out.isatty(),
        mininterval=0.25,
        unit_scale=unit == "B",
        leave=False,
    )
    shown.refresh()  # drawn at once, not only after the first update interval
    return shown


def through(
    items: Iterable[T], progress: tqdm[Any], weight: Callable[[T], int] | None = None
) -> Iterator[T]:
    """``items`` unchanged, advancing ``progress`` by one (or by ``weight(item)``) per item."""
    for item in items:
        yield item
        progress.update(weight(item) if weight is not None else 1)


def counted(
    items: Iterable[T], total: Callable[[], int], unit: str, *, desc: str = ""
) -> Iterator[T]:
    """``items`` unchanged, with a bar of their count whose total, ``total()``, is known once the
    first item comes (the events of a sort: after the whole input was read)."""
    shown: tqdm[Any] | None = None
    try:
        for item in items:
            if shown is None:
                shown = bar(total(), unit, desc=desc)
            yield item
            shown.update(1)
    finally:
        if shown is not None:
            shown.close()
