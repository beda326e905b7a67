"""``purposegate explain EVENT_ID [--audit FILE]``: why each field of one event went, or did not
go, to each recipient.

Reads the audit record(s) of the event from a JSON-lines audit file (as ``dry-run`` or ``dump
purposegate.audit`` write them) or, without ``--audit``, from the ``purposegate.audit`` topic
on Kafka (found by the ``purposegate-event-id`` header, without decoding other records). It
explains every decision with the policy: the route's condition and consent rules for the
outcome, each field's data category and operator for what was sent. Prints no field values;
the customer id is not printed either.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from policy import topics
from policy.loader import load_policy
from policy.models import Policy, Route
from policy.operators import REGISTRY
from streams.kafka.reader import open_reader, records
from streams.settings import Settings
from streams.wire import Codec, Decoded, SchemaStore
from streams.wire.headers import EVENT_ID
from streams.wire.jsonl import read_lines
from streams.wire.jsonvalues import to_json

REASONS: Mapping[str, str] = {
    "permitted": "every condition, consent and suspension rule allows it",
    "no_consent": "the purpose needs the customer's consent and none is in force (Section 5)",
    "cross_border_consent_missing": (
        "the recipient is outside Japan and the customer has not consented to provision to a "
        "foreign recipient (scope cross_border, APPI Article 28)"
    ),
    "use_suspended": (
        "the customer's verified suspension of use is in force; only fulfilment, order "
        "communication and complaint handling continue (Section 10)"
    ),
    "not_shared_item": "the record holds items Section 6 does not list as shared",
}
ENVELOPE_FIELDS = ("event_id", "event_time")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "explain", help="why each field of one event went (or not) to each recipient"
    )
    parser.add_argument("event_id", metavar="EVENT_ID")
    parser.add_argument(
        "--audit",
        type=Path,
        metavar="FILE",
        help="a JSON-lines audit file (default: read the purposegate.audit topic on Kafka)",
    )
    parser.add_argument("--policy", type=Path, help="policy file (default: PURPOSEGATE_POLICY)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    policy = load_policy(args.policy or settings.policy_file)
    if args.audit:
        found = list(find_audit_records(args.audit, args.event_id))
        where = str(args.audit)
    else:
        found = list(find_audit_records_on_kafka(settings, args.event_id))
        where = settings.topic(topics.AUDIT)
    if not found:
        print(f"explain: no audit record for event {args.event_id} in {where}")
        return 1
    for record in found:
        print("\n".join(explain(record, policy)))
    return 0


def find_audit_records(path: Path, event_id: str) -> Iterator[Mapping[str, Any]]:
    for _, raw in read_lines(path):
        try:
            document = json.loads(raw)
        except ValueError:
            continue
        value = document.get("value") if isinstance(document, dict) else None
        if isinstance(value, dict) and value.get("event_id") == event_id:
            yield value


def find_audit_records_on_kafka(settings: Settings, event_id: str) -> Iterator[Mapping[str, Any]]:
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
    finally:
        reader.client.close()


def explain(record: Mapping[str, Any], policy: Policy) -> list[str]:
    """The explanation of one audit record, as lines of text."""
    source = str(record.get("source_topic"))
    lines = [
        f"event {record.get('event_id')} from {source} at {record.get('event_time')}",
        f"policy version {record.get('policy_version')}"
        + ("" if record.get("policy_version") == policy.version else
           f" (explained with the policy in force, version {policy.version})"),
        f"purposes (Section 5): {', '.join(record.get('purposes') or []) or 'none'}",
    ]  # fmt: skip
    if record.get("state_change"):
        lines.append(f"state change: {record['state_change']}")
        lines += [f"withdrawal notice to {t}" for t in record.get("tombstone_topics") or []]
    decisions = record.get("decisions") or []
    if not decisions and not record.get("state_change"):
        lines.append("no route applies: nothing was shared with any group company")
    for decision in decisions:
        lines += _explain_decision(decision, source, record, policy)
    return lines


def _explain_decision(
    decision: Mapping[str, Any], source: str, record: Mapping[str, Any], policy: Policy
) -> list[str]:
    recipient_id, purpose = str(decision["recipient"]), str(decision["purpose"])
    company = next(
        (f"{r.company}, {r.country}" for r in policy.recipients if r.id == recipient_id), "?"
    )
    outcome, reason = str(decision["outcome"]), str(decision["reason"])
    lines = [
        "",
        f"{recipient_id} ({company}) for {purpose}: {outcome.upper()} ({reason})",
        f"  why: {REASONS.get(reason, reason)}",
    ]
    route = _route(policy, recipient_id, purpose, source)
    if outcome != "forwarded" or route is None:
        lines.append("  no field went to this recipient")
        return lines
    redacted = set(decision.get("fields_redacted") or [])
    categories = policy.inputs[source].fields
    for field in [*categories, *(record.get("unclassified_fields") or [])]:
        lines.append(f"  {field:<18} {_field_line(field, route, categories, redacted, policy)}")
    return lines


def _route(policy: Policy, recipient: str, purpose: str, source: str) -> Route | None:
    return next(
        (
            r
            for r in policy.routes
            if (r.recipient, r.purpose, r.source) == (recipient, purpose, source)
        ),
        None,
    )


def _field_line(
    field: str, route: Route, categories: Mapping[str, str], redacted: set[str], policy: Policy
) -> str:
    category_id = categories.get(field)
    if category_id is None:
        return "WITHHELD  not classified by the policy: never forwarded (fail closed)"
    rule = route.fields.get(field)
    if field in ENVELOPE_FIELDS:
        return f"sent      [{category_id}] in the envelope of every output record"
    if field == "customer_id" and not route.pseudonymised:
        return f"sent      [{category_id}] as the record key"
    if rule is None or REGISTRY[rule.op].output_key(field) is None:
        category = policy.category(category_id)
        why = (
            "not in this route's allowlist"
            if category.shared_item
            else "not a Section 6 shared item"
        )
        return f"WITHHELD  [{category_id}] {why}"
    if rule.op == "keep" and field not in redacted:
        return f"sent      [{category_id}] keep"
    output_key = REGISTRY[rule.op].output_key(field)
    return f"changed   [{category_id}] {rule.op} -> sent as {output_key}"
