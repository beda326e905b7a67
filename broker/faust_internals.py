"""Every use of Faust's and aiokafka's private internals, in one place."""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import Any

import faust.streams
from faust.types import TP


@contextlib.contextmanager
def deciding(event: Any) -> Iterator[None]:
    """Make ``event`` Faust's *current event* while it is decided."""
    token = faust.streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        faust.streams._current_event.reset(token)


def committed_offset(consumer: Any, tp: TP) -> int | None:
    """The committed offset Faust's consumer knows for ``tp`` (None: never committed)."""
    committed: int | None = getattr(consumer, "_committed_offset", {}).get(tp)
    return committed
