"""When each policy version decided, from an audit file: the first and the last audit record
that names it, and how many do (``policy.history.fold``; on Kafka ``broker.versions``
reads the same from the audit topic's headers).

Why the audit and not the ``purposegate.policies`` topic's timestamps: that topic is compacted
by version, so it keeps the *latest* start of a worker with each version, not the first
decision; and a worker that runs for months under one version writes it once. Only the audit
says when a version first and last decided.

>>> _VERSION.search(b'{"policy_version": "a6f1fa452d3c0d7e", "decisions": []}').group(1)
b'a6f1fa452d3c0d7e'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Final

from policy.history import Use, fold
from wire.jsonl import read_lines
from wire.jsonvalues import parse_timestamp

_VERSION: Final = re.compile(rb'"policy_version":\s*"([0-9a-f]{1,64})"')


def file_uses(path: Path) -> dict[str, Use]:
    """The uses in an audit file: each line's ``timestamp`` (a dump) or else its event time (a
    dry run records no send time). Lines that name no version are skipped."""
    return fold(_file_pairs(path))


def _file_pairs(path: Path) -> Iterable[tuple[str, datetime]]:
    for _, raw in read_lines(path):
        if _VERSION.search(raw) is None:
            continue
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            continue
        value = document.get("value") if isinstance(document, dict) else None
        if not isinstance(value, dict) or not isinstance(value.get("policy_version"), str):
            continue
        stamp = document.get("timestamp") or value.get("event_time")
        time = parse_timestamp(stamp) if isinstance(stamp, str) else None
        if time is not None:
            yield value["policy_version"], time
