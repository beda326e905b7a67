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

What it finds: an event's audit records in an audit file (a corrupt line skipped and counted,
not fatal), its dead letters when it never was decided (the DLQ file beside the audit, or the
DLQ topic), and the records a recipient's own ids point at: the subject id it got (each
forwarded decision's record of provision names it, docs/contract.md §4) and a pseudonymised route's
HMAC event id (computed with the pseudonym keys over the audit's ids). A line that is JSON but
no audit record (an input line) still refuses the file: it is the wrong file, not a damaged one.
The words of the explanation are ``office.explanation``'s.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from broker.policies import kept_policies
from broker.reader import open_reader, records
from broker.versions import audit_uses
from cli import args as args_
from config.settings import Settings
from office.explanation import explain
from office.policy_uses import file_uses
from policy import topics
from policy.errors import ConfigError, PurposegateError
from policy.history import PolicyHistory
from policy.keys import PseudonymKeys, keys_from_file
from policy.operators import PSEUDONYM_KEY
from wire import Codec, Decoded, SchemaStore
from wire.headers import EVENT_ID
from wire.jsonl import read_lines
from wire.jsonvalues import to_json

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


KEPT_DLQ_BESIDE_AUDIT = f"{topics.DLQ}.jsonl"


@dataclass
class Skipped:
    """Corrupt lines of the audit file (not JSON: a truncated write), by line number."""

    lines: list[int]

    def note(self) -> str | None:
        if not self.lines:
            return None
        first = ", ".join(str(n) for n in self.lines[:5])
        return (
            f"explain: skipped {len(self.lines)} corrupt line(s) of the audit file that are not "
            f"JSON (line {first}{', ...' if len(self.lines) > 5 else ''})"
        )


def audit_values(path: Path, skipped: Skipped) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, audit value)`` of every audit record of the file; a corrupt line is
    skipped (counted in ``skipped``); a JSON line of another kind refuses the file."""
    for number, raw in read_lines(path):
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            skipped.lines.append(number)
            continue
        value = document.get("value") if isinstance(document, dict) else None
        if not isinstance(document, dict) or document.get("topic") != topics.AUDIT:
            value = None
        if value is None or not _is_audit_value(value):
            raise ConfigError(
                f"{path} is not an audit file: line {number} is not a {topics.AUDIT} record"
            )
        yield number, value


def _is_audit_value(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("decisions"), list)
        and isinstance(value.get("policy_version"), str)
    )


class Match:
    """How a recipient's id matched an audit record (printed before its explanation)."""

    def __init__(self, recipient: str, what: str) -> None:
        self.recipient, self.what = recipient, what

    def __str__(self) -> str:
        return f"found by {self.recipient}'s {self.what}"


def recipient_match(
    value: Mapping[str, Any], wanted: str, keys: PseudonymKeys | None
) -> Match | None:
    """Whether ``wanted`` is an id a recipient got with this record: the subject id of a
    forwarded route (its record of provision holds it; an audit record older than that field:
    computed with the keys), or, with the keys, a pseudonymised route's HMAC event id."""
    for decision in value.get("decisions") or []:
        if decision.get("outcome") != "forwarded":
            continue
        recipient = str(decision.get("recipient"))
        pseudonymised = PSEUDONYM_KEY in (decision.get("fields_sent") or [])
        known = keys if keys is not None and recipient in keys.recipients else None
        subject_id = decision.get("subject_id")
        if subject_id is None and known is not None:
            subject_id = known.pseudonymiser(recipient)(str(value.get("customer_id")))
        if subject_id is not None and subject_id == wanted:
            return Match(recipient, "subject pseudonym" if pseudonymised else "subject id")
        hmac_of = known.event_id_pseudonymiser(recipient) if known and pseudonymised else None
        if hmac_of is not None and hmac_of(str(value.get("event_id"))) == wanted:
            return Match(recipient, "HMAC event id")
    return None


def dead_letters_in_file(path: Path, event_id: str) -> list[dict[str, Any]]:
    """The DLQ records (``dry-run``'s file beside the audit) whose raw input names
    ``event_id``."""
    found = []
    for _, raw in read_lines(path):
        try:
            value = json.loads(raw).get("value") or {}
            original = base64.b64decode(value.get("raw") or "", validate=True)
        except (ValueError, AttributeError, binascii.Error):
            continue
        if _raw_event_id(original, None) == event_id:
            found.append(value)
    return found


def dead_letters_on_kafka(settings: Settings, event_id: str) -> list[dict[str, Any]]:
    """The DLQ topic's records whose raw input (Avro, or a JSON line) names ``event_id``."""
    codec = Codec(SchemaStore.load(), settings)
    reader = open_reader(settings, [topics.DLQ])
    found = []
    try:
        for record in records(reader, follow=False):
            decoded = codec.decode(record.value)
            raw = decoded.value.get("raw") if isinstance(decoded, Decoded) else None
            if isinstance(raw, bytes) and _raw_event_id(raw, codec) == event_id:
                found.append(decoded.value)  # type: ignore[union-attr]
    finally:
        reader.client.close()
    return found


def _raw_event_id(raw: bytes, codec: Codec | None) -> str | None:
    """The event id a dead letter's raw bytes hold, when they hold one."""
    if codec is not None:
        decoded = codec.decode(raw)
        if isinstance(decoded, Decoded):
            return str(decoded.value.get("event_id"))
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    value = document.get("value", document)  # a file's line, or a bare value sent to Kafka
    if isinstance(value, dict) and isinstance(value.get("event_id"), str):
        return str(value["event_id"])
    return None


def dead_letter_lines(event_id: str, letters: list[dict[str, Any]], where: str) -> list[str]:
    """What ``explain`` says of an event that went to the DLQ: where, and the reason (which
    names fields, never values)."""
    lines = [f"event {event_id} was not decided: it went to the DLQ ({where})"]
    for letter in letters:
        place = (
            f"line {letter.get('offset')}"
            if letter.get("partition") is None
            else f"partition {letter.get('partition')} offset {letter.get('offset')}"
        )
        lines.append(
            f"  from {letter.get('source_topic')} {place}: {letter.get('error_kind')}: "
            f"{letter.get('error')}"
        )
    lines.append("  nothing of it went to any recipient, and it has no audit record")
    return lines
