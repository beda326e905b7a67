"""``purposegate explain EVENT_ID [--audit FILE]``: why each field of one event went, or did not
go, to each recipient, under the policy version that decided it.

Reads the audit record(s) of the event from a JSON-lines audit file (as ``dry-run`` or ``dump
purposegate.audit`` write them; any other file is refused) or, without ``--audit``, from the
``purposegate.audit`` topic on Kafka (found by the ``purposegate-event-id`` header, without
decoding other records). Each record is explained with the policy version it names, found by
its hash among: the policy in force (or ``--policy``), ``--policy-history`` directories or
files, the ``purposegate.policies.jsonl`` beside the audit file, and (reading Kafka) the
``purposegate.policies`` topic. When that version is not kept it says so and exits 1: it never
explains with another version. Prints no field values; the customer id is not printed either.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from policy import topics
from policy.errors import ConfigError, PurposegateError
from policy.history import PolicyHistory
from policy.keys import PseudonymKeys, keys_from_file
from streams.cli import args as args_
from streams.cli.explain_find import (
    KEPT_DLQ_BESIDE_AUDIT,
    Match,
    Skipped,
    audit_values,
    dead_letter_lines,
    dead_letters_in_file,
    dead_letters_on_kafka,
    recipient_match,
)
from streams.cli.explanation import explain
from streams.kafka.policies import kept_policies
from streams.kafka.reader import open_reader, records
from streams.kafka.versions import audit_uses
from streams.settings import Settings
from streams.tools.policy_uses import file_uses
from streams.wire import Codec, Decoded, SchemaStore
from streams.wire.headers import EVENT_ID
from streams.wire.jsonl import read_lines
from streams.wire.jsonvalues import to_json

KEPT_BESIDE_AUDIT = f"{topics.POLICIES}.jsonl"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="why each field of one event went (or not) to each recipient, under the policy "
        "version that decided it",
    )
    parser.add_argument(
        "event_id",
        metavar="EVENT_ID",
        type=args_.text_arg,
        help="the input event's event_id; with --audit FILE also the subject id a recipient got "
        "(its subject_id or subject_pseudonym), and with --keys its HMAC event id",
    )
    add_audit_sources(
        parser,
        audit_help="a JSON-lines audit file (default: read the purposegate.audit topic on Kafka)",
        policy_help="a policy file to look for the deciding version in (besides "
        "PURPOSEGATE_POLICY)",
    )
    parser.add_argument(
        "--keys",
        type=args_.ANY_FILE,
        metavar="FILE",
        help="the pseudonym key file that made a recipient's ids: EVENT_ID may then be a "
        "pseudonymised recipient's HMAC event id (looked up in --audit FILE)",
    )
    parser.set_defaults(func=run)


def add_audit_sources(parser: Any, *, audit_help: str, policy_help: str) -> None:
    """``--audit FILE``, ``--policy FILE`` and ``--policy-history PATH`` (repeatable): where a
    command that reads the audit finds it and the policy versions that decided it (read back
    by :func:`local_history`)."""
    parser.add_argument("--audit", type=args_.AUDIT_FILE, metavar="FILE", help=audit_help)
    parser.add_argument("--policy", type=args_.POLICY_FILE, help=policy_help)
    parser.add_argument(
        "--policy-history",
        type=args_.policy_history,
        action="append",
        default=[],
        metavar="PATH",
        help="a directory of policy YAML files, or a purposegate.policies JSON-lines file "
        "(repeatable)",
    )


class Unreadable(NamedTuple):
    """An audit record of the event that does not decode: said, never skipped in silence."""

    partition: int
    offset: int
    error: str


def run(args: argparse.Namespace, settings: Settings) -> int:
    keys = keys_from_file(args.keys) if args.keys else None
    matches: dict[int, Match] = {}
    if args.audit:
        skipped = Skipped([])
        found = find_in_file(args.audit, args.event_id, keys, skipped, matches)
        if skipped.note():
            print(skipped.note(), file=sys.stderr)
        where = str(args.audit)
    else:
        found = list(find_audit_records_on_kafka(settings, args.event_id))
        where = settings.topic(topics.AUDIT)
    if not found:
        return not_found(args, settings, where, keys)
    history = local_history(args, settings)
    code = 0
    first: dict[str, datetime] | None = None  # read once, when a record is explained
    for index, record in enumerate(found):
        if isinstance(record, Unreadable):
            print(
                f"purposegate explain: event {args.event_id}: the audit record at partition "
                f"{record.partition} offset {record.offset} does not decode ({record.error})",
                file=sys.stderr,
            )
            code = 1
            continue
        version = str(record.get("policy_version"))
        if version not in history and not args.audit:
            add_kept_on_kafka(history, settings)
        try:
            policy = history.get(version)
        except ConfigError as exc:
            print(f"purposegate explain: event {args.event_id}: {exc}", file=sys.stderr)
            code = 1
            continue
        if index in matches:
            print(f"{args.event_id}: {matches[index]}")
        first = first if first is not None else first_use(args, settings)
        print("\n".join(with_first_use(explain(record, policy), version, first.get(version))))
    return code


def first_use(args: argparse.Namespace, settings: Settings) -> dict[str, datetime]:
    """When each policy version first decided: in the audit file, or on the audit topic (its
    headers only, nothing decoded)."""
    uses = file_uses(args.audit) if args.audit else audit_uses(settings)
    return {version: use.first for version, use in uses.items()}


def with_first_use(lines: list[str], version: str, since: datetime | None) -> list[str]:
    """The explanation with the version's first-use date beside its hash."""
    if since is None:
        return lines
    named = f"policy version {version}"
    date = f"first decided {since:%Y-%m-%d} UTC"
    return [f"{line}, {date}" if line.startswith(named) else line for line in lines]


def find_in_file(
    path: Path,
    wanted: str,
    keys: PseudonymKeys | None,
    skipped: Skipped,
    matches: dict[int, Match],
) -> list[Mapping[str, Any] | Unreadable]:
    """The audit records of the event ``wanted`` names: by its event id, by the subject id a
    recipient got (the record of provision holds it), or (with the keys) by a recipient's HMAC
    event id (``matches``: how, by position)."""
    found: list[Mapping[str, Any] | Unreadable] = []
    for _, value in audit_values(path, skipped):
        match = None
        if value.get("event_id") != wanted:
            match = recipient_match(value, wanted, keys)
            if match is None:
                continue
            matches[len(found)] = match
        found.append(value)
    return found


def not_found(
    args: argparse.Namespace, settings: Settings, where: str, keys: PseudonymKeys | None
) -> int:
    """An event with no audit record: dead-lettered (said, exit 0), or nowhere (exit 1, with
    what a recipient's id needs)."""
    beside = args.audit.parent / KEPT_DLQ_BESIDE_AUDIT if args.audit else None
    if beside is not None and beside.is_file():
        letters, dlq = dead_letters_in_file(beside, args.event_id), str(beside)
    elif args.audit:
        letters, dlq = [], ""
    else:
        letters, dlq = _dead_letters_on_kafka(settings, args.event_id)
    if letters:
        print("\n".join(dead_letter_lines(args.event_id, letters, dlq)))
        return 0
    print(f"explain: no audit record for event {args.event_id} in {where}")
    if not args.audit:
        print(NEEDS_AUDIT_FILE)
    elif keys is None:
        print(NEEDS_KEYS)
    return 1


def _dead_letters_on_kafka(settings: Settings, event_id: str) -> tuple[list[Any], str]:
    name = settings.topic(topics.DLQ)
    try:
        return dead_letters_on_kafka(settings, event_id), name
    except PurposegateError as exc:  # no DLQ topic (yet): nothing dead-lettered to say
        print(f"explain: the DLQ was not searched ({exc})", file=sys.stderr)
        return [], name


NEEDS_KEYS = (
    "  (a recipient's HMAC event id is found only with the pseudonym keys that made it: "
    "--keys FILE)"
)
NEEDS_AUDIT_FILE = (
    "  (a recipient's subject id or HMAC event id is looked up in an audit file: --audit FILE, "
    "e.g. from purposegate dump purposegate.audit)"
)


def local_history(args: argparse.Namespace, settings: Settings) -> PolicyHistory:
    """The policy versions found without Kafka: policy files, history paths, the kept file
    beside the audit file."""
    history = PolicyHistory()
    for path in {*([args.policy] if args.policy else []), settings.policy_file}:
        _add_file(history, path)
    beside = args.audit.parent / KEPT_BESIDE_AUDIT if args.audit else None
    for path in [*args.policy_history, *([beside] if beside and beside.is_file() else [])]:
        if path.is_dir():
            history.sources.append(f"{path}/*.yaml")
            for file in sorted([*path.glob("*.yaml"), *path.glob("*.yml")]):
                _add_file(history, file)
        else:
            history.sources.append(str(path))
            for number, raw in read_lines(path):
                document = _json(raw)
                history.add_record(document.get("value"), f"{path} line {number}")
    return history


def _add_file(history: PolicyHistory, path: Path) -> None:
    history.sources.append(str(path))
    with suppress(OSError, UnicodeDecodeError):  # unreadable: it holds no version to find
        history.add(path.read_text(encoding="utf-8"), str(path))


def add_kept_on_kafka(history: PolicyHistory, settings: Settings) -> None:
    name = settings.topic(topics.POLICIES)
    history.sources.append(f"topic {name}")
    try:
        for value in kept_policies(settings, Codec(SchemaStore.load(), settings)):
            history.add_record(value, f"topic {name}")
    except PurposegateError as exc:
        history.sources[-1] += f" ({exc})"


def _json(raw: bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}
    return document if isinstance(document, dict) else {}


def find_audit_records_on_kafka(
    settings: Settings, event_id: str
) -> Iterator[Mapping[str, Any] | Unreadable]:
    """The audit records of ``event_id`` on the audit topic (a replayed event has several)."""
    codec = Codec(SchemaStore.load(), settings)
    reader = open_reader(settings, [topics.AUDIT])
    wanted = event_id.encode()
    try:
        for record in records(reader, follow=False):
            if dict(record.headers or []).get(EVENT_ID) != wanted:
                continue
            decoded = codec.decode(record.value)
            if isinstance(decoded, Decoded):
                yield to_json(decoded.value)
            else:
                yield Unreadable(record.partition, record.offset, decoded.error)
    finally:
        reader.client.close()
