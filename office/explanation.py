"""The text of ``purposegate explain``: one audit record explained under the policy version that
decided it. Pure: no I/O; prints no field values and no customer id."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.compile import ENVELOPE
from policy.models import CUSTOMER_ID, FieldRule, Policy, Route
from policy.operators import field_output_key

REASONS: Mapping[str, str] = {
    "permitted": "every condition, consent and suspension rule allows it",
    "no_consent": "the purpose needs the customer's consent and none is in force (Section 5)",
    "consent_expired": (
        "the purpose needs the customer's consent and the customer's grant had expired by the "
        "event's time (the policy's consent_valid_for; Section 5)"
    ),
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
#: Blocks caused by the subject's state, and the state event each names (``cause_event_id``).
CAUSES: Mapping[str, str] = {
    "no_consent": "the consent change",
    "consent_expired": "the expired grant",
    "cross_border_consent_missing": "the cross_border consent change",
    "use_suspended": "the Section 10 request",
}
ENVELOPE_FIELDS = ("event_id", "event_time")


def explain(record: Mapping[str, Any], policy: Policy) -> list[str]:
    """The explanation of one audit record, as lines of text, under ``policy``: the version that
    decided it (``ValueError`` for any other: no explanation under a policy that did not decide).
    """
    if record.get("policy_version") != policy.version:
        raise ValueError("explain() needs the policy version that decided the record")
    source = str(record.get("source_topic"))
    lines = [
        f"event {record.get('event_id')} from {source} at {record.get('event_time')}",
        f"policy version {policy.version} (the version that decided)",
        f"purposes (Section 5): {', '.join(record.get('purposes') or []) or 'none'}",
    ]
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
    if outcome != "forwarded":
        return [*lines, *_cause(decision, reason), "  no field went to this recipient"]
    lines += _provision(decision)
    route = _route(policy, recipient_id, purpose, source)
    if route is None:  # the deciding version forwarded on a route it does not have: say so
        return [*lines, f"  policy version {policy.version} has no such route from {source}"]
    if not decision.get("fields_sent"):
        return [*lines, f"  forwarded the envelope only ({', '.join(ENVELOPE)}): no field went"]
    redacted = set(decision.get("fields_redacted") or [])
    categories = policy.inputs[source].fields
    for field in [*categories, *(record.get("unclassified_fields") or [])]:
        lines.append(f"  {field:<18} {_field_line(field, route, categories, redacted, policy)}")
    return lines


def _cause(decision: Mapping[str, Any], reason: str) -> list[str]:
    """The consent change or Section 10 request behind a block caused by the subject's state."""
    kind = CAUSES.get(reason)
    if kind is None:
        return []
    cause = decision.get("cause_event_id", "")
    if cause == "":  # an audit record written before the field, or a state that lacked it
        return ["  because of: not recorded (an audit record older than the field that names it)"]
    if cause is None:
        return ["  because of: no consent change for this scope (the customer never consented)"]
    return [f"  because of: {kind} {cause}"]


def _provision(decision: Mapping[str, Any]) -> list[str]:
    """The record of provision of a forwarded decision: its basis and the subject id sent
    (an audit record older than these fields has neither), and what content inspection found
    in what went (where and which detector: the audit never holds the value)."""
    unrecorded = "not recorded (an audit record older than the field)"
    basis, subject_id = decision.get("basis"), decision.get("subject_id")
    lines = [
        f"  basis: {unrecorded if basis is None else basis}",
        f"  subject id sent: {unrecorded if subject_id is None else subject_id}",
    ]
    finds = decision.get("content_redactions") or []
    if finds:
        found = ", ".join(f"{f['path']} ({f['detector']})" for f in finds)
        lines.append(f"  personal data found in typed values and redacted: {found}")
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
    """What the route's output record holds of one input field: each sentence is what the
    operator does (``policy.operators``), checked against the records dry-run writes."""
    category_id = categories.get(field)
    if category_id is None:
        return "WITHHELD  not classified by the policy: never forwarded (fail closed)"
    if field in ENVELOPE_FIELDS or field == CUSTOMER_ID:
        return _identity_line(field, route, category_id)
    rule = route.fields.get(field)
    if rule is None or field_output_key(field, rule.op, route.pseudonymised) is None:
        category = policy.category(category_id)
        why = (
            "not in this route's allowlist"
            if category.shared_item
            else "not a Section 6 shared item"
        )
        return f"WITHHELD  [{category_id}] {why}"
    if rule.op == "redact":
        return f"WITHHELD  [{category_id}] redact: the key {field} goes out, its value always null"
    if rule.op == "mask":
        shown = 4 if rule.keep_last is None else rule.keep_last
        return (
            f"changed   [{category_id}] mask: all but the last {shown} character(s) replaced by "
            f"{rule.mask_char or '*'!r}, sent as {field}"
        )
    if rule.op == "generalise":
        output_key = field_output_key(field, rule.op, route.pseudonymised)
        return f"changed   [{category_id}] generalise: {_band(rule)}, sent as {output_key}"
    nested = policy.inputs[route.source].nested_under(field)
    if nested:
        return f"sent      [{category_id}] keep: rebuilt from the keys the policy classifies in it"
    if field in redacted:  # an older audit or version: keep, yet not as it was
        return f"changed   [{category_id}] keep, but not as it was (the audit lists it redacted)"
    why = f" ({rule.reason})" if rule.reason else ""
    return f"sent      [{category_id}] keep: as it is{why}"


def _band(rule: FieldRule) -> str:
    """What a generalised value becomes, in words."""
    if rule.groups is not None:
        named = ", ".join(rule.groups)
        if rule.by is not None:
            return f"the groups of its {rule.by} values ({named} or other), each once"
        return f"its group ({named} or other)"
    if rule.keep_values is not None:
        return f"{', '.join(rule.keep_values)} as it is, any other value as other"
    return f"a {rule.width or 10}-year band"


def _identity_line(field: str, route: Route, category_id: str) -> str:
    """The event id, time and customer id: how each travels (docs/contract.md §3). Every route's
    records are keyed by the recipient's subject id (its keyed HMAC of the customer id)."""
    if field == CUSTOMER_ID:
        return _subject_line(route, category_id)
    if not route.pseudonymised:
        return f"sent      [{category_id}] as the envelope's {field}"
    if field == "event_id":
        return (
            f"changed   [{category_id}] the envelope's event_id is the recipient's keyed HMAC of "
            "it (header purposegate-event-id too), not the event id"
        )
    return (
        f"changed   [{category_id}] the envelope's event_time is the start of its "
        f"{route.time_grain} (00:00 UTC of its first day)"
    )


def _subject_line(route: Route, category_id: str) -> str:
    """The customer id: the recipient's subject id in its place, or (kept, with a reason) the
    raw id in the value; the record key is the subject id either way."""
    rule = route.fields.get(CUSTOMER_ID)
    if rule is not None and rule.op == "keep":
        why = f" ({rule.reason})" if rule.reason else ""
        return (
            f"sent      [{category_id}] keep{why}: the raw id, sent as {CUSTOMER_ID}; the record "
            "key is the recipient's subject id"
        )
    output_key = field_output_key(CUSTOMER_ID, "pseudonymise", route.pseudonymised)
    return (
        f"changed   [{category_id}] pseudonymise: the recipient's subject id (its keyed HMAC), "
        f"sent as {output_key} and as the record key"
    )
