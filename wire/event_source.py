"""The input events of a JSON-lines file, checked, in decision order: the source ``dry-run`` and
``diff-policy`` decide from (and any other runner of a file can: it is an iterator of
``(line number, InputEvent)``, apart from the loop that decides them).

One read of the lines: each goes through the one door (``wire.input_lines.read_line``,
the same as ``produce``); a bad one goes to ``dead_letter`` at once
(in file order), a valid one to the external sort (``wire.external_sort``) by
``(decision_order, line number)`` — the event-time order the worker decides in
(docs/contract.md §2), the same for a file in order and for a shuffled one. ``Seen`` counts
what the read saw, so that a file with no input record at all (CSV, one JSON array, an empty
pipe) is refused by name instead of "deciding" nothing and reporting success.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from policy.errors import ConfigError
from policy.ordering import decision_order
from policy.topics import INPUT_TOPICS
from policy.validation import InputEvent, Invalid
from wire.external_sort import external_sorted
from wire.jsonl import TOPIC_NAME

#: The one door bound to a policy and a clock: a raw line as ``(its topic, event or why not)``.
Door = Callable[[bytes], tuple[str, InputEvent | Invalid]]
DeadLetter = Callable[[int, bytes, str, Invalid], None]
EXPECTED: Final = 'JSON lines, one {"topic": "orders", "value": {...}} object per line'


@dataclass
class Seen:
    """What one read of the input saw."""

    lines: int = 0
    #: Lines that name an input topic, valid or not: the file is input lines at all.
    input_records: int = 0
    valid: int = 0
    first: bytes | None = None

    def note(self, raw: bytes, topic: str) -> None:
        """One line read, naming ``topic`` (``UNKNOWN_TOPIC`` when it names none)."""
        self.lines += 1
        if self.first is None:
            self.first = raw
        self.input_records += topic in INPUT_TOPICS

    def refuse_if_no_input(self, where: str) -> None:
        """``ConfigError`` naming what the input looks like when no line was an input record."""
        if self.input_records == 0:
            found = describe(self.first)
            raise ConfigError(f"{where}: no input record: {found}; expected {EXPECTED}")


def describe(first: bytes | None) -> str:
    """What a file whose first non-blank line is ``first`` looks like (never quotes it).

    >>> describe(b"event_id,topic,customer_id")
    'it looks like CSV (its first line is comma-separated text), not JSON lines'
    >>> describe(b'[{"topic": "orders",')
    'it looks like one JSON array, not JSON lines'
    """
    if first is None:
        return "the input is empty"
    text = first.decode("utf-8", "replace").strip()
    if text.startswith("["):
        return "it looks like one JSON array, not JSON lines"
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        if text.startswith("{"):
            return "its first line is an unfinished JSON object (one pretty-printed document?)"
        if any(separator in text for separator in ",;\t"):
            return "it looks like CSV (its first line is comma-separated text), not JSON lines"
        return "its first line is not JSON"
    if not isinstance(document, dict):
        return f"its first line is a JSON {type(document).__name__}, not an object"
    topic = document.get("topic")
    if isinstance(topic, str) and TOPIC_NAME.fullmatch(topic):
        return f"its lines name topic {topic}, not an input topic ({', '.join(INPUT_TOPICS)})"
    return 'its first line is a JSON object without "topic" and "value"'


def valid_events(
    lines: Iterable[tuple[int, bytes]], door: Door, seen: Seen, dead_letter: DeadLetter
) -> Iterator[tuple[int, InputEvent]]:
    """Each line's valid event in file order, read through ``door``; a bad line to
    ``dead_letter(number, raw, source topic, Invalid)``."""
    for number, raw in lines:
        source, checked = door(raw)
        seen.note(raw, source)
        if isinstance(checked, Invalid):
            dead_letter(number, raw, source, checked)
        else:
            seen.valid += 1
            yield number, checked


def in_decision_order(
    events: Iterable[tuple[int, InputEvent]], run_size: int | None = None
) -> Iterator[tuple[int, InputEvent]]:
    """``(line number, event)`` pairs sorted as the worker decides them, memory bounded."""
    return external_sorted(events, key=_order, run_size=run_size)


def _order(tagged: tuple[int, InputEvent]) -> tuple[Any, int]:
    return decision_order(tagged[1]), tagged[0]
