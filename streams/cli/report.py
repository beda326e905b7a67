"""``purposegate report SUBJECT_ID [--from T] [--to T] [--format text|json|html] [--audit FILE]``:
the subject's disclosure report (APPI Articles 29, 32-33; Section 10 of the notice).

Reads only the subject's audit records. On Kafka: the one partition of ``purposegate.audit`` the
subject's key hashes to (the producer's own partitioner, ``streams.kafka.partitions``), records
compared by key before anything is decoded. From a file (as ``dry-run`` or ``dump
purposegate.audit`` write it): only the lines that hold the subject's id are parsed. Either way a
record is kept only when its key and its ``customer_id`` are both the subject's. Recipients are
named as the policy version that decided names them (see ``explain`` for where versions are
found). An unknown subject gets an empty report that says so, exit 0.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from policy import topics
from policy.errors import ConfigError
from policy.history import PolicyHistory
from streams.cli import args as args_
from streams.cli.explain import add_audit_sources, add_kept_on_kafka, local_history
from streams.kafka.partitions import read_key
from streams.settings import Settings
from streams.tools.disclosure import Companies, Company, Window, build_report
from streams.tools.disclosure_render import FORMATS
from streams.wire import Codec, Decoded, SchemaStore
from streams.wire.jsonl import read_lines
from streams.wire.jsonvalues import to_json


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="a customer's disclosure report: provisions, blocks, consents, requests, erasures",
    )
    parser.add_argument(
        "subject", metavar="SUBJECT_ID", type=args_.text_arg, help="the subject's customer_id"
    )
    parser.add_argument(
        "--from",
        dest="start",
        type=args_.timestamp,
        metavar="T",
        help="only events at or after T (ISO-8601; a date means 00:00 UTC)",
    )
    parser.add_argument(
        "--to", dest="end", type=args_.timestamp, metavar="T", help="only events before T"
    )
    parser.add_argument(
        "--format",
        choices=sorted(FORMATS),
        default="text",
        help="text and html for the customer, json for systems (default text)",
    )
    add_audit_sources(
        parser,
        audit_help="a JSON-lines audit file (default: the purposegate.audit topic)",
        policy_help="a policy file to name recipients with (besides PURPOSEGATE_POLICY)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.start and args.end and args.start >= args.end:
        raise ConfigError("--from must be before --to")
    window = Window(args.start, args.end)
    companies = naming(local_history(args, settings), settings, on_kafka=not args.audit)
    if args.audit:
        where = f"the audit file {args.audit.name}"
        report = build_report(
            args.subject, subject_lines(args.audit, args.subject), window, companies
        )
    else:
        audit = KafkaAudit(settings, args.subject)
        where = audit.where
        report = build_report(args.subject, audit.values(), window, companies)
        report.unreadable = audit.unreadable
    print(FORMATS[args.format](report, where), end="")
    return 0


def naming(history: PolicyHistory, settings: Settings, on_kafka: bool) -> Companies:
    """Recipients as each deciding version names them; the versions kept on Kafka are read
    once, the first time a version is not found locally."""
    names: dict[str, dict[str, Company]] = {}
    asked_kafka = [not on_kafka]

    def company(version: str, recipient: str) -> Company:
        if version not in names:
            if version not in history and not asked_kafka[0]:
                asked_kafka[0] = True
                add_kept_on_kafka(history, settings)
            try:
                recipients = history.get(version).recipients
            except ConfigError:  # not kept: the report says the company is not named
                recipients = ()
            names[version] = {r.id: Company(r.id, r.company, r.country) for r in recipients}
        return names[version].get(recipient, Company(recipient))

    return company


def subject_lines(path: Path, subject: str) -> Iterator[Mapping[str, Any]]:
    """The audit values in ``path`` keyed by ``subject``: a line is parsed only when it holds the
    subject's id as JSON writes it; ``ConfigError`` at such a line that is no audit record."""
    needles = {json.dumps(subject, ensure_ascii=a).encode() for a in (False, True)}
    for number, raw in read_lines(path):
        if not any(n in raw for n in needles):
            continue
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            document = None
        value = document.get("value") if isinstance(document, dict) else None
        if document is None or document.get("topic") != topics.AUDIT or not _audit(value):
            raise ConfigError(f"{path} is not an audit file: line {number} is no audit record")
        if document.get("key") == subject and isinstance(value, dict):
            yield value


def _audit(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("decisions"), list)


class KafkaAudit:
    """The subject's audit values on Kafka, and how many did not decode."""

    def __init__(self, settings: Settings, subject: str) -> None:
        partition, self.raw = read_key(settings, topics.AUDIT, subject.encode())
        self.where = f"topic {settings.topic(topics.AUDIT)}, partition {partition}"
        self.codec = Codec(SchemaStore.load(), settings)
        self.unreadable = 0

    def values(self) -> Iterator[Mapping[str, Any]]:
        for raw in self.raw:
            decoded = self.codec.decode(raw) if raw is not None else None
            if isinstance(decoded, Decoded):
                yield to_json(decoded.value)
            else:
                self.unreadable += 1
