"""Repeated runs of the rebalance tests: ``make test`` runs each once, ``make soak`` (the `slow`
marker) runs it ``PURPOSEGATE_SOAK_RUNS`` times (default 20) in a row, each run on fresh
topics and a consumer group of its own. Each run's figures go to
``$PURPOSEGATE_RUN_DIR/soak-results.jsonl`` (one JSON line per run) for the tally."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

SOAK_RUNS = int(os.environ.get("PURPOSEGATE_SOAK_RUNS", "20"))


def runs() -> list[Any]:
    """Parameters ``run``: 0 in ``make test``; 1..SOAK_RUNS marked slow for ``make soak``."""
    soak = [
        pytest.param(i, id=f"soak{i:02d}", marks=pytest.mark.slow) for i in range(1, SOAK_RUNS + 1)
    ]
    return [pytest.param(0, id="once"), *soak]


def record(test: str, run: int, **figures: Any) -> None:
    """Append one run's figures (counts and seconds only) to the soak results file."""
    folder = os.environ.get("PURPOSEGATE_RUN_DIR")
    if not folder:
        return
    line = {"test": test, "run": run, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), **figures}
    with (Path(folder) / "soak-results.jsonl").open("a") as out:
        out.write(json.dumps(line) + "\n")
