"""The record of processing and provision (``purposegate ropa``), from the policy alone. Pure.

One row per recipient and purpose (a shared topic): the Section 6 items its routes send and the
output fields that carry them, the basis of the purpose (``policy.basis``), the recipient's
country and cross-border basis (APPI Article 28), whether the records are pseudonymised, the
topic's retention, the erasure bound and the consumer group the recipient reads with. Nothing
comes from the broker or the audit: the record says what the policy lets happen, and the policy
version it comes from names exactly that text.

>>> from policy.loader import load_policy
>>> rows = build_ropa(load_policy(), "").rows
>>> [(r.recipient, r.purpose, r.basis) for r in rows if r.recipient == "affectus"]
[('affectus', 'marketing', 'consent')]
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from policy.basis import Basis, purpose_basis
from policy.models import Metadata, Policy, Route
from policy.operators import field_output_key
from policy.topics import shared_topic

#: Said beside the retention until the erasure bound (retention + segment roll) is policy data.
BOUND_PLACEHOLDER = "(bound: see topics --check)"


@dataclass(frozen=True)
class RopaRow:
    """What one recipient receives for one purpose."""

    recipient: str
    company: str
    country: str
    #: None: the recipient is in Japan, no cross-border provision.
    cross_border_basis: str | None
    purpose: str
    basis: Basis
    topic: str
    sources: tuple[str, ...]
    #: Section 6 item names, as the policy's categories give them.
    items: tuple[str, ...]
    #: The output fields that carry them.
    fields: tuple[str, ...]
    pseudonymised: bool
    retention_days: int
    erasure_bound: str
    consumer_group: str


@dataclass(frozen=True)
class Ropa:
    metadata: Metadata | None
    policy_version: str
    #: SHA-256 of the policy file's text (empty when built without it).
    policy_sha256: str
    rows: tuple[RopaRow, ...]


def erasure_bound(retention: timedelta) -> str:
    """How long a record may physically stay on the broker. Today the retention and a marked
    placeholder: the segment roll that bounds it is checked on the broker by ``topics --check``
    until the policy declares it; this function is the one place to change then."""
    return f"{retention.days} days {BOUND_PLACEHOLDER}"


def build_ropa(policy: Policy, text: str) -> Ropa:
    """The record for ``policy``, loaded from ``text`` (hashed as given)."""
    by_topic: dict[str, list[Route]] = {}
    for route in policy.routes:
        by_topic.setdefault(shared_topic(route.recipient, route.purpose), []).append(route)
    retention, groups = policy.topic_retention(), policy.topic_consumer_groups()
    rows = []
    for topic, routes in sorted(by_topic.items(), key=lambda t: _order(policy, t[1][0])):
        first = routes[0]
        recipient = policy.recipient(first.recipient)
        items, fields = _sent(policy, routes)
        rows.append(
            RopaRow(
                recipient=recipient.id,
                company=recipient.company,
                country=recipient.country,
                cross_border_basis=recipient.cross_border_basis,
                purpose=first.purpose,
                basis=purpose_basis(policy.purpose(first.purpose)),
                topic=topic,
                sources=tuple(sorted({r.source for r in routes})),
                items=items,
                fields=fields,
                # a topic some of whose routes are named is not called pseudonymised
                pseudonymised=all(r.pseudonymised for r in routes),
                retention_days=retention[topic].days,
                erasure_bound=erasure_bound(retention[topic]),
                consumer_group=groups[topic],
            )
        )
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest() if text else ""
    return Ropa(policy.metadata, policy.version, digest, tuple(rows))


def _order(policy: Policy, route: Route) -> tuple[int, int]:
    """Recipients as the policy lists them, then purposes as Section 5 does."""
    recipients = [r.id for r in policy.recipients]
    purposes = [p.id for p in policy.purposes]
    return recipients.index(route.recipient), purposes.index(route.purpose)


def _sent(policy: Policy, routes: list[Route]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    items: dict[str, None] = {}
    fields: dict[str, None] = {}
    for route in routes:
        paths = policy.inputs[route.source].paths()
        for field, rule in route.fields.items():
            key = field_output_key(field, rule.op, route.pseudonymised)
            if key is None:
                continue
            fields.setdefault(key, None)
            item = policy.category(paths[field]).section6_item
            items.setdefault(item or "?", None)
    return tuple(sorted(items)), tuple(fields)
