"""``purposegate dry-run --input FILE --out DIR``: the policy on a JSON-lines file, no Kafka.

Events are decided in event-time order, as the worker decides them on Kafka (docs/contract.md §2):
the valid lines are sorted, stably, by ``event_time``, then the contract's tie rank (state
changes first, a withdrawal before a grant, a suspension before a resumption), then line
number, so the result is the event-time result even for a file that is not in order.

Writes ``DIR/<topic>.jsonl`` for every shared output topic, ``purposegate.audit``,
``purposegate.dlq`` (each file exists, possibly empty) and ``purposegate.policies`` (the policy
that decided, for ``explain``). A line that is not JSON, names an unknown topic or fails
validation goes to the DLQ (``partition`` null, ``offset`` = line number, ``raw`` = the line in
base64) and the run goes on.

``DIR`` must be new, empty or hold only the files of an earlier dry run: those are removed
first, so that no stale output (a topic an older policy had) lies beside the new ones; any other
file makes it refuse, and nothing is deleted. Without ``--keys`` the pseudonym keys are random,
for this run only, and it says so on stderr: a dry run's files never carry pseudonyms that match
the ones the recipients hold unless the keys are given on purpose.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cli import args as args_
from cli import progress
from config.settings import Settings
from flow.path import InOrder, file_records
from policy import topics
from policy.compile import CompiledPolicy, compile_policy
from policy.errors import ConfigError
from policy.history import policy_record, read_policy
from policy.keys import PseudonymKeys, ephemeral_keys, keys_from_file
from policy.validation import InputEvent, Invalid
from wire.deadletter import dead_letter_record
from wire.event_source import Seen, in_decision_order, valid_events
from wire.input_lines import read_line
from wire.jsonl import TopicFiles, read_lines, record_line

Ordered = tuple[int, InputEvent]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dry-run", help="apply the policy to a JSON-lines file and write one file per topic"
    )
    parser.add_argument(
        "--input",
        type=args_.INPUT_LINES_OR_STDIN,
        required=True,
        metavar="FILE",
        help='JSON-lines input, one {"topic", "value"} object per line, in any order '
        "('-': standard input)",
    )
    parser.add_argument(
        "--out",
        type=args_.output_dir,
        required=True,
        metavar="DIR",
        help="new or empty directory, or one an earlier dry run wrote (its files are replaced)",
    )
    parser.add_argument(
        "--policy", type=args_.POLICY_FILE, help="policy file (default: PURPOSEGATE_POLICY)"
    )
    parser.add_argument(
        "--keys",
        type=args_.ANY_FILE,
        metavar="FILE",
        help="pseudonym key file (default: random keys for this run only)",
    )
    parser.set_defaults(func=run)


@dataclass
class Summary:
    lines: int = 0
    events: int = 0
    outputs: int = 0
    tombstones: int = 0
    dead_letters: int = 0
    per_topic: dict[str, int] = field(default_factory=dict)
    seen: Seen = field(default_factory=Seen)


def run(args: argparse.Namespace, settings: Settings) -> int:
    policy, text = read_policy(args.policy or settings.policy_file)
    keys: PseudonymKeys = (
        keys_from_file(args.keys) if args.keys else ephemeral_keys(r.id for r in policy.recipients)
    )
    compiled = compile_policy(policy, keys, limits=settings.input_limits())
    clear_earlier_run(args.out)  # only once everything else is known to be usable
    if not args.keys:
        print(EPHEMERAL_KEYS, file=sys.stderr)
    with (
        TopicFiles(args.out) as files,
        progress.bar(_size(args.input), "B", desc="dry-run") as read,
    ):
        files.write(
            topics.POLICIES,
            record_line(topics.POLICIES, policy.version, policy_record(policy, text)),
        )
        lines = progress.through(read_lines(args.input), read, lambda line: len(line[1]) + 1)
        summary = dry_run(lines, compiled, files, shown=_decide_bar)
    summary.seen.refuse_if_no_input(f"--input {args.input}")
    print(
        f"dry-run: {summary.lines} line(s), {summary.events} event(s) decided, "
        f"{summary.outputs} output record(s), {summary.tombstones} tombstone(s), "
        f"{summary.dead_letters} to the DLQ; files in {args.out}"
    )
    return 0


EPHEMERAL_KEYS = (
    "dry-run: no --keys: pseudonyms use random keys for this run only (they match no other run "
    "and none a recipient holds)"
)


def clear_earlier_run(directory: Path) -> None:
    """Remove the files of an earlier dry run from ``directory``; refuse (removing nothing) when
    it holds anything else."""
    if not directory.is_dir():
        return
    ours: list[Path] = []
    foreign: list[Path] = []
    for entry in sorted(directory.iterdir()):
        (ours if _written_by_dry_run(entry) else foreign).append(entry)
    if foreign:
        raise ConfigError(
            f"--out {directory} holds {len(foreign)} file(s) a dry run did not write "
            f"(first: {foreign[0].name}); nothing removed: choose a new or empty directory"
        )
    for entry in ours:
        entry.unlink()


def _written_by_dry_run(entry: Path) -> bool:
    """``<topic>.jsonl`` of one of purposegate's output topics, empty or naming that topic."""
    topic = entry.name.removesuffix(".jsonl")
    if entry.is_symlink() or not entry.is_file() or topic == entry.name:
        return False
    if not args_.is_output_topic(topic):
        return False
    with entry.open("rb") as handle:
        head = handle.read(args_.SNIFF_BYTES)
    return not head.strip() or args_.line_topic(head) == topic


def _decide_bar(ordered: Iterator[Ordered], seen: Seen) -> Iterator[Ordered]:
    return progress.counted(ordered, lambda: seen.valid, "events", desc="decide")


def _size(path: Path) -> int | None:
    """The input's size in bytes for the progress bar (None for stdin or a pipe)."""
    return path.stat().st_size if str(path) != args_.STDIN and path.is_file() else None


def _now() -> datetime:
    return datetime.now(UTC)


def dry_run(
    lines: Iterable[tuple[int, bytes]],
    compiled: CompiledPolicy,
    files: TopicFiles,
    clock: Callable[[], datetime] = _now,
    shown: Callable[[Iterator[Ordered], Seen], Iterator[Ordered]] | None = None,
) -> Summary:
    """The flow (``flow.path``) from a file to files: every line through the one door (the DLQ
    gets the bad ones, in file order, keyed by the customer id they name), then every valid
    event decided in decision order (``wire.event_source``: sorted with memory bounded,
    whatever the file's size); every record to its file. ``clock`` is the processing
    clock (an event dated too far ahead of it goes to the DLQ); ``shown`` wraps the ordered
    events (a progress bar)."""
    for topic in (*compiled.shared_topics, topics.AUDIT, topics.DLQ):
        files.open(topic)
    summary = Summary()

    def dead_letter(number: int, raw: bytes, source: str, invalid: Invalid) -> None:
        record = dead_letter_record(invalid, source, None, number, raw)
        # keyed as on Kafka (the input's key, its customer id): `report` finds it there
        files.write(topics.DLQ, record_line(topics.DLQ, input_key(raw), record))
        summary.dead_letters += 1

    def door(raw: bytes) -> tuple[str, InputEvent | Invalid]:
        return read_line(raw, compiled, clock())  # the one door (produce's too)

    seen = Seen()
    ordered = in_decision_order(valid_events(lines, door, seen, dead_letter))
    run = InOrder(compiled)
    for _, event in shown(ordered, seen) if shown else ordered:
        summary.events += 1
        for record in file_records(run.decide(event)):
            files.write(record.topic, record.line)
            summary.outputs += record.kind == "output"
            summary.tombstones += record.kind == "tombstone"
    summary.lines, summary.seen = seen.lines, seen
    summary.per_topic = dict(files.counts)
    return summary


def input_key(raw: bytes) -> str | None:
    """The customer id a dead-lettered line names, as its Kafka key would be (None: none)."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to read
        return None
    value = document.get("value") if isinstance(document, dict) else None
    found = value.get("customer_id") if isinstance(value, dict) else None
    return found if isinstance(found, str) else None
