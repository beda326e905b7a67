"""``purposegate report SUBJECT_ID [--from T] [--to T] [--format text|json|html] [--lang en|ja]
[--audit FILE] [--issued T] [--reference REF]``: the subject's disclosure report (APPI Articles
29, 32-33; Section 10 of the notice).

Reads only the subject's audit records. On Kafka: the one partition of ``purposegate.audit`` the
subject's key hashes to (the producer's own partitioner, ``broker.partitions``), records
compared by key before anything is decoded; the subject's inputs that went to the DLQ the same
way on ``purposegate.dlq`` (keyed like the input). From a file (as ``dry-run`` or ``dump
purposegate.audit`` write it): only the lines that hold the subject's id are parsed, and the
``purposegate.dlq.jsonl`` beside it. Either way a record is kept only when its key and its
``customer_id`` are both the subject's. Recipients are named as the policy version that decided
names them (see ``explain`` for where versions are found). An id no audit record names is
refused (exit 2): a typo must not get a reassuring empty report.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from broker.clients import TOOL_BOOTSTRAP_TIMEOUT_MS
from broker.drift import broker_check_interval
from broker.erasures import read_notices
from cli import args as args_
from cli.explain import add_audit_sources, add_kept_on_kafka, local_history
from cli.report_sources import KafkaAudit, dead_letters_beside, subject_lines
from config.settings import Settings
from office.disclosure.document import render_html, render_text
from office.disclosure.i18n import LANGUAGES
from office.disclosure.letter import Letter
from office.disclosure.render import render_json
from office.disclosure.report import (
    Bases,
    Companies,
    Company,
    ErasureState,
    Report,
    Window,
    build_report,
    unprocessed,
)
from office.erasure_list import notice_rows, of_events, report_states
from office.policy_uses import file_uses
from policy.basis import purpose_basis
from policy.erasure import topic_terms
from policy.errors import ConfigError, PurposegateError
from policy.history import PolicyHistory, read_policy
from policy.loader import load_policy
from wire import Codec, SchemaStore

FORMATS = ("html", "json", "text")
UNKNOWN = "no audit record names this id; check it"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="a customer's disclosure report: provisions, blocks, consents, requests, erasures",
    )
    parser.add_argument(
        "subject", metavar="SUBJECT_ID", type=args_.text_arg, help="the subject's customer_id"
    )
    parser.add_argument(
        "--from", dest="start", type=args_.timestamp, metavar="T",
        help="only events at or after T (ISO-8601; a date means 00:00 UTC)",
    )  # fmt: skip
    parser.add_argument(
        "--to", dest="end", type=args_.timestamp, metavar="T", help="only events before T"
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="text",
        help="text and html for the customer, json for systems (default text)",
    )  # fmt: skip
    parser.add_argument(
        "--lang", choices=LANGUAGES, default="en", help="the customer's language (default en)"
    )
    parser.add_argument(
        "--issued", type=args_.timestamp, metavar="T", help="the issue date (default: now)"
    )
    parser.add_argument(
        "--reference", type=args_.text_arg, metavar="REF",
        help="the request's reference (default: derived from the id and the issue time)",
    )  # fmt: skip
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
    history = local_history(args, settings)
    companies = naming(history, settings, on_kafka=not args.audit)
    if args.audit:
        where = f"the audit file {args.audit.name}"
        lines = subject_lines(args.audit, args.subject)
        report = build_report(args.subject, lines, window, companies, bases(history))
        report.unprocessed = unprocessed(dead_letters_beside(args.audit, args.subject))
        first_use = {v: use.first for v, use in file_uses(args.audit).items()}
    else:
        audit = KafkaAudit(settings, args.subject)
        where = audit.where
        report = build_report(args.subject, audit.values(), window, companies, bases(history))
        report.unreadable = audit.unreadable
        report.unprocessed = unprocessed(audit.dead_letters())
        report.erasure_states = erasure_states(report, settings)
        first_use = audit.first_use()
    if not report.named and not report.unprocessed:
        raise ConfigError(UNKNOWN)
    if args.format == "json":
        print(render_json(report, where), end="")
        return 0
    letter = make_letter(args, settings, first_use)
    print((render_html if args.format == "html" else render_text)(report, letter), end="")
    return 0


def make_letter(
    args: argparse.Namespace, settings: Settings, first_use: Mapping[str, datetime]
) -> Letter:
    """The document's issue date, reference and sender (the policy in force's ``metadata``)."""
    issued = args.issued or datetime.now(UTC)
    reference = args.reference or default_reference(args.subject, issued)
    policy, _ = read_policy(args.policy or settings.policy_file)
    return Letter(args.lang, issued, reference, policy.metadata, first_use)


def default_reference(subject: str, issued: datetime) -> str:
    """``PG-<issue day>-<8 hex>``: stable for one subject and issue time, says neither.

    >>> default_reference("C1", datetime(2026, 1, 2, tzinfo=UTC))
    'PG-20260102-6FADEA3A'
    """
    digest = hashlib.sha256(f"{subject}|{issued.isoformat()}".encode()).hexdigest()
    return f"PG-{issued:%Y%m%d}-{digest[:8].upper()}"


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


def bases(history: PolicyHistory) -> Bases:
    """The deciding version's basis of a purpose, for audit records that do not name theirs
    (``naming`` has already looked the version up)."""

    def basis(version: str, purpose: str) -> str | None:
        try:
            return purpose_basis(history.get(version).purpose(purpose))
        except (ConfigError, StopIteration):  # not kept, or no such purpose: nothing said
            return None

    return basis


def erasure_states(report: Report, settings: Settings) -> list[ErasureState]:
    """What became of the report's erasure notices (``purposegate.erasures``; none when that
    topic does not exist yet)."""
    if not report.erasures:
        return []
    try:
        book = read_notices(settings, Codec(SchemaStore.load(), settings))
    except PurposegateError:  # no erasures topic: a deployment from before it
        return []
    named = {e.recipient.id: e.recipient for e in report.erasures}
    notices = of_events(book.current().values(), {e.event_id for e in report.erasures})
    policy = load_policy(settings.policy_file)
    interval = broker_check_interval(settings, bootstrap_timeout_ms=TOOL_BOOTSTRAP_TIMEOUT_MS)
    rows = notice_rows(notices, datetime.now(UTC), topic_terms(policy), interval)
    return report_states(rows, named)
