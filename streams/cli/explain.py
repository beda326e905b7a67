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
from streams.cli import args as args_
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
        help="the input event's event_id (with --keys: also a recipient's HMAC event id or "
        "subject pseudonym)",
    )
    add_audit_sources(
        parser,
        audit_help="a JSON-lines audit file (default: read the purposegate.audit topic on Kafka)",
        policy_help="a policy file to look for the deciding version in (besides "
        "PURPOSEGATE_POLICY)",
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
    if args.audit:
        found: list[Mapping[str, Any] | Unreadable] = [
            *find_audit_records(args.audit, args.event_id)
        ]
        where = str(args.audit)
    else:
        found = list(find_audit_records_on_kafka(settings, args.event_id))
        where = settings.topic(topics.AUDIT)
    if not found:
        print(f"explain: no audit record for event {args.event_id} in {where}")
        return 1
    history = local_history(args, settings)
    code = 0
    first: dict[str, datetime] | None = None  # read once, when a record is explained
    for record in found:
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


def find_audit_records(path: Path, event_id: str) -> Iterator[Mapping[str, Any]]:
    """The audit records of ``event_id`` in an audit file; ``ConfigError`` at the first line
    that is not an audit record (an input file is not an audit file)."""
    for number, raw in read_lines(path):
        document = _json(raw)
        value = document.get("value")
        if document.get("topic") != topics.AUDIT or not isinstance(value, dict):
            value = None
        if value is None or not _is_audit_value(value):
            raise ConfigError(
                f"{path} is not an audit file: line {number} is not a {topics.AUDIT} record"
            )
        if value.get("event_id") == event_id:
            yield value


def _is_audit_value(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("decisions"), list)
        and isinstance(value.get("policy_version"), str)
    )


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
