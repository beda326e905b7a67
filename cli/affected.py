"""``purposegate affected --recipient R --from T1 --to T2 [--audit FILE] [--format text|csv|json]``:
breach sizing (APPI Article 26): how many subjects, which items, how many records went to R,
per purpose, in the window (``office.affected``; the window is on the time each record
was sent).

On Kafka it reads only the window of ``purposegate.audit``: each partition from the first
record at or after T1 (``offsets_for_times``) to the first past T2 (``broker.window``),
and decodes only records whose bytes name R. From a file (``dump purposegate.audit`` lines carry
each record's ``timestamp``; a ``dry-run`` file has none, and then the event time stands in for
the send time, which the output says) it streams the lines, parsing only those that name R.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from broker.window import read_window
from cli import args as args_
from config.settings import Settings
from office.affected import Window, affected
from office.affected_render import FORMATS
from policy import topics
from policy.errors import ConfigError
from wire import Codec, Decoded, SchemaStore
from wire.jsonl import read_lines
from wire.jsonvalues import parse_timestamp

Timed = tuple[datetime, Mapping[str, Any]]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "affected",
        help="breach sizing: which subjects and items went to a recipient in a window of time",
    )
    parser.add_argument(
        "--recipient", required=True, type=args_.text_arg, metavar="R",
        help="the recipient id whose records are counted (as in the policy: septem-cargo)",
    )  # fmt: skip
    parser.add_argument(
        "--from", dest="start", required=True, type=args_.timestamp, metavar="T1",
        help="sent at or after T1 (ISO-8601; a date means 00:00 UTC)",
    )  # fmt: skip
    parser.add_argument(
        "--to", dest="end", required=True, type=args_.timestamp, metavar="T2",
        help="sent before T2",
    )  # fmt: skip
    parser.add_argument(
        "--audit", type=args_.AUDIT_FILE, metavar="FILE",
        help="a JSON-lines audit file (default: the purposegate.audit topic)",
    )  # fmt: skip
    parser.add_argument(
        "--format", choices=sorted(FORMATS), default="text",
        help="text (counts), csv (the subjects' ids, for the mailing), json (default text)",
    )  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.start >= args.end:
        raise ConfigError("--from must be before --to")
    window = Window(args.start, args.end)
    if args.audit:
        lines = FileWindow(args.audit, args.recipient)
        found = affected(lines.values(), args.recipient, window)
        where = lines.where()
    else:
        found = affected(kafka_values(settings, args.recipient, window), args.recipient, window)
        where = f"topic {settings.topic(topics.AUDIT)}"
    print(FORMATS[args.format](found, where), end="")
    return 0


def needle(recipient: str) -> bytes:
    """The recipient id's bytes: in the Avro body as they are, in a JSON line quoted."""
    return recipient.encode("utf-8")


def kafka_values(settings: Settings, recipient: str, window: Window) -> Iterator[Timed]:
    """The audit values of the window that name the recipient, with their send times."""
    wanted = needle(recipient)
    codec = Codec(SchemaStore.load(), settings)
    timed = read_window(settings, topics.AUDIT, window.start, window.end, lambda v: wanted in v)
    for ms, raw in timed:
        decoded = codec.decode(raw)
        if isinstance(decoded, Decoded) and isinstance(decoded.value, dict):
            yield datetime.fromtimestamp(ms / 1000, UTC), decoded.value


class FileWindow:
    """The lines of an audit file that name the recipient, with the time each was sent."""

    def __init__(self, path: Path, recipient: str) -> None:
        self.path = path
        self.needles = {json.dumps(recipient, ensure_ascii=a).encode() for a in (False, True)}
        self.by_event_time = 0

    def values(self) -> Iterator[Timed]:
        for number, raw in read_lines(self.path):
            if not any(n in raw for n in self.needles):
                continue
            value, sent = self._parse(raw, number)
            if sent is not None:
                yield sent, value

    def _parse(self, raw: bytes, number: int) -> tuple[dict[str, Any], datetime | None]:
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            document = None
        value = document.get("value") if isinstance(document, dict) else None
        if not isinstance(document, dict) or document.get("topic") != topics.AUDIT:
            raise ConfigError(f"{self.path} is not an audit file: line {number} is no audit record")
        if not isinstance(value, dict) or not isinstance(value.get("decisions"), list):
            raise ConfigError(f"{self.path}: line {number} is no audit record")
        stamp = document.get("timestamp")
        if not isinstance(stamp, str):
            self.by_event_time += 1
            stamp = value.get("event_time")
        return value, parse_timestamp(stamp) if isinstance(stamp, str) else None

    def where(self) -> str:
        if not self.by_event_time:
            return f"the audit file {self.path.name}"
        return (
            f"the audit file {self.path.name}; {self.by_event_time} of its lines carry no send "
            "time (a dry run's): their event time stands in for it"
        )
