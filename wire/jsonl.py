"""JSON-lines files: the contract's file form of topics (``{"topic": ..., "value": {...}}``).

Reading yields each line's number and raw bytes, so that a bad line can go to the DLQ as it
was; ``parse_line`` reads JSON strictly (no NaN or Infinity, no key twice in an object, no key
beside ``topic`` and ``value``), the first half of the one door (``wire.input_lines``).
Writing turns datetimes into ISO-8601 ``...Z`` strings and bytes into base64 (the same JSON
form as ``purposegate dump``).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, NamedTuple

from policy.validation import Invalid
from wire.jsonvalues import to_json

UNKNOWN_TOPIC = "unknown"
#: The keys of an input line (docs/contract.md §1), and nothing else.
LINE_KEYS: Final = frozenset({"topic", "value"})
#: The file name that means standard input.
STDIN: Final = "-"
#: The UTF-8 byte order mark some editors put at the start of a file.
BOM: Final = b"\xef\xbb\xbf"
#: What Kafka accepts as a topic name; anything else is named nowhere (it may be any text).
TOPIC_NAME: Final = re.compile(r"[A-Za-z0-9._-]{1,249}")


class Line(NamedTuple):
    """One parsed input line: its topic and its JSON value (not yet validated)."""

    topic: str
    value: Any


def dumps(document: Any) -> str:
    """One JSON line (no newline): keys in the given order, non-ASCII kept, datetimes ISO Z."""
    return json.dumps(to_json(document), ensure_ascii=False, separators=(",", ":"))


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """``(line number from 1, raw bytes without the line end)`` of every non-blank line; ``-``
    is standard input. A UTF-8 byte order mark before the first line is not part of it."""
    if str(path) == STDIN:
        yield from _numbered(sys.stdin.buffer)
        return
    with path.open("rb") as handle:
        yield from _numbered(handle)


def _numbered(handle: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, raw in enumerate(handle, start=1):
        line = raw.rstrip(b"\r\n")
        if number == 1:
            line = line.removeprefix(BOM)
        if line.strip():
            yield number, line


def parse_line(raw: bytes) -> Line | tuple[str, Invalid]:
    """A line as ``Line``, or ``(topic if known, Invalid)``; never raises, never quotes values."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        error = f"the line is not valid UTF-8 (byte {exc.start + 1})"
        return UNKNOWN_TOPIC, Invalid(error, "invalid_unicode")
    try:
        document = json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    except _NotJson as exc:
        return UNKNOWN_TOPIC, Invalid(str(exc), "not_json")
    except ValueError:
        return UNKNOWN_TOPIC, Invalid("the line is not a JSON object", "not_json")
    except RecursionError:
        return UNKNOWN_TOPIC, Invalid("the line is nested too deeply to read", "not_json")
    if not isinstance(document, dict):
        return UNKNOWN_TOPIC, Invalid("the line is not a JSON object", "not_json")
    if set(document) - LINE_KEYS:
        return UNKNOWN_TOPIC, Invalid('the line has keys besides "topic" and "value"', "not_json")
    topic = document.get("topic")
    if not isinstance(topic, str) or not topic:
        return UNKNOWN_TOPIC, Invalid('the line has no "topic" string', "unknown_topic")
    if not TOPIC_NAME.fullmatch(topic):
        return UNKNOWN_TOPIC, Invalid('the line\'s "topic" is not a topic name', "unknown_topic")
    if "value" not in document:
        return topic, Invalid('the line has no "value"', "missing_field")
    return Line(topic, document["value"])


class _NotJson(ValueError):
    """Python's reader takes what JSON does not have; the message names no value."""


def _no_constant(name: str) -> Any:
    # NaN and the infinities are no JSON numbers (RFC 8259); Python reads them unless told
    raise _NotJson("the line holds NaN or Infinity, which are no JSON numbers")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # one reader keeps the first of two equal keys, another the last: such a line means two
    # things, so it means none ("granted": true, "granted": false)
    document = dict(pairs)
    if len(document) != len(pairs):
        raise _NotJson("the line has an object with a key twice")
    return document


def record_line(
    topic: str, key: str | None, value: Any, headers: Mapping[str, str] | None = None
) -> str:
    """The file form of one output record: ``{"topic", "key", "value"[, "headers"]}``."""
    document: dict[str, Any] = {"topic": topic, "key": key, "value": value}
    if headers:
        document["headers"] = dict(headers)
    return dumps(document)


class TopicFiles:
    """``DIR/<topic>.jsonl`` writers, one per topic; ``open`` creates each file even if empty."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._stack = ExitStack()
        self._files: dict[str, IO[str]] = {}
        self.counts: dict[str, int] = {}

    def open(self, topic: str) -> IO[str]:
        handle = self._files.get(topic)
        if handle is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{topic}.jsonl"
            handle = self._stack.enter_context(path.open("w", encoding="utf-8"))
            self._files[topic] = handle
            self.counts[topic] = 0
        return handle

    def write(self, topic: str, line: str) -> None:
        self.open(topic).write(line + "\n")
        self.counts[topic] += 1

    def __enter__(self) -> TopicFiles:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stack.close()
