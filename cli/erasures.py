"""``purposegate erasures [--subject ID] [--overdue] [--format text|json]``: every erasure
notice and what became of it (pending, read, overdue, gone), from ``purposegate.erasures``.

``--subject ID`` (a customer id): only the notices sent by that customer's withdrawals and
suspensions, found through their audit records (the key each recipient got is whatever the
tombstone carried). ``--overdue``: only overdue notices; exit 1 when there is any, so that a
scheduled check can fail on them. The physical bound of each notice ("gone by") uses the
broker's own ``log.retention.check.interval.ms``.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from broker.clients import TOOL_BOOTSTRAP_TIMEOUT_MS
from broker.drift import broker_check_interval
from broker.erasures import read_notices
from cli import args as args_
from cli.report_sources import KafkaAudit
from config.settings import Settings
from office.erasure_list import notice_rows, of_events, render
from policy.erasure import topic_terms
from policy.loader import load_policy
from wire import Codec, SchemaStore


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "erasures", help="erasure notices by recipient and state: pending, read, overdue, gone"
    )
    parser.add_argument(
        "--subject",
        type=args_.text_arg,
        metavar="ID",
        help="only the notices of this customer's withdrawals and suspensions",
    )
    parser.add_argument(
        "--overdue", action="store_true", help="only overdue notices (exit 1 when any)"
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: a count per state, then one line per notice (default); json: the same",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    policy = load_policy(settings.policy_file)
    codec = Codec(SchemaStore.load(), settings)
    notices = list(read_notices(settings, codec).current().values())
    if args.subject is not None:
        audit = KafkaAudit(settings, args.subject)
        events = (v["event_id"] for v in audit.values() if v.get("tombstone_topics"))
        notices = of_events(notices, (str(e) for e in events))
    interval = broker_check_interval(settings, bootstrap_timeout_ms=TOOL_BOOTSTRAP_TIMEOUT_MS)
    rows = notice_rows(notices, datetime.now(UTC), topic_terms(policy), interval)
    if args.overdue:
        rows = [row for row in rows if row.state == "overdue"]
    print(render(rows, args.format), end="")
    return 1 if args.overdue and rows else 0
