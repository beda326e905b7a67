"""Who may read and write what on the broker, derived from the policy: the ACL plan.

Pure (no Kafka): ``plan(policy, settings)`` returns the bindings ``purposegate acls`` prints,
applies and checks (``broker.acls`` talks to the broker, ``broker.acl_drift``
compares). Every grant is an Allow on one resource; everything else is refused by the
authorizer (``allow.everyone.if.no.acl.found=false``).

- each recipient: ``Read``/``Describe`` on each of its own shared topics, one LITERAL binding
  per topic, and ``Read`` on the consumer group each topic declares
  (``Policy.topic_consumer_groups``). Literal, not a prefix: a prefix grant also reaches a
  topic created later under that prefix (a route not yet decided on, a topic made by hand),
  and ``shared.septem`` would reach ``shared.septem-cargo.*``;
- the worker: reads the five inputs (its consumer group is the app id), writes the shared
  topics, the audit, the DLQ, the policy versions and the shadow differences, and owns Faust's
  internal topics (the consent table's changelog, the leader topic: ``<app id>-*``, one
  PREFIXED binding because Faust names them); no transactional ids (at-least-once), and no
  ``Create`` on the pipeline's topics: an admin creates them (``topics --create --acls``);
- the privacy office: reads the audit, the DLQ, the policy versions and the shadow
  differences (``dump``, ``explain``, ``report`` read without a consumer group) and may
  ``Describe`` the recipients' groups and shared topics (the groups' committed offsets are the
  erasure read receipts; Describe reads no record);
- the input producers (``PURPOSEGATE_PRODUCER_PRINCIPALS``): ``Write`` on the five inputs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Final

from config.settings import Settings
from policy import topics
from policy.errors import ConfigError
from policy.models import Policy

READ: Final = ("Read", "Describe")
WRITE: Final = ("Write", "Describe")
#: The order operations are listed in.
OPERATIONS: Final = ("Read", "Write", "Create", "Describe")
OFFICE_TOPICS: Final = (
    topics.AUDIT, topics.DLQ, topics.POLICIES, topics.SHADOW, topics.ERASURES
)  # fmt: skip
WORKER_OUTPUTS: Final = OFFICE_TOPICS


@dataclass(frozen=True, order=True)
class Binding:
    """One ACL: ``principal`` may ``operation`` the ``resource`` named ``name`` (a prefix when
    ``pattern`` is ``prefixed``). ``holder`` says whose grant it is in purposegate's terms."""

    principal: str
    resource: str  # topic | group | cluster | transactional_id
    name: str
    pattern: str = "literal"  # literal | prefixed
    operation: str = "Read"  # Kafka's operation names: Read, Write, Create, Describe, All, ...
    permission: str = "Allow"
    host: str = "*"
    holder: str = field(default="", compare=False)


@dataclass(frozen=True)
class Principals:
    """Each role's principal: one per recipient, the worker, the office, the input producers."""

    worker: str
    office: str
    recipients: Mapping[str, str]
    producers: tuple[str, ...]

    def all(self) -> frozenset[str]:
        return frozenset({self.worker, self.office, *self.recipients.values(), *self.producers})


def principals(policy: Policy, settings: Settings) -> Principals:
    """The principals of ``settings`` for ``policy``'s recipients (``User:<recipient id>``
    unless ``PURPOSEGATE_RECIPIENT_PRINCIPALS`` names another); ``ConfigError`` when an
    override names no recipient or one principal would hold two roles (two companies sharing
    a principal read each other's topics)."""
    ids = [r.id for r in policy.recipients]
    unknown = sorted(set(settings.recipient_principals) - set(ids))
    if unknown:
        raise ConfigError(
            f"PURPOSEGATE_RECIPIENT_PRINCIPALS names {', '.join(map(repr, unknown))}: "
            f"not a recipient of the policy ({', '.join(ids)})"
        )
    recipients = {r: settings.recipient_principals.get(r, f"User:{r}") for r in ids}
    roles = [("the worker", settings.worker_principal), ("the office", settings.office_principal)]
    roles += [(f"recipient {r}", p) for r, p in recipients.items()]
    roles += [("an input producer", p) for p in dict.fromkeys(settings.producer_principals)]
    seen: dict[str, str] = {}
    for role, principal in roles:
        if principal in seen:
            raise ConfigError(
                f"{principal} is the principal of both {seen[principal]} and {role}: "
                "each role needs its own, or one reads what only the other may"
            )
        seen[principal] = role
    return Principals(
        settings.worker_principal,
        settings.office_principal,
        recipients,
        tuple(dict.fromkeys(settings.producer_principals)),
    )


def plan(policy: Policy, settings: Settings) -> tuple[Binding, ...]:
    """Every binding the policy needs on the broker, sorted; physical topic names."""
    who = principals(policy, settings)
    topic = settings.topic
    groups = policy.topic_consumer_groups()
    out: list[Binding] = []
    for route in policy.routes:
        shared = topics.shared_topic(route.recipient, route.purpose)
        holder = f"recipient {route.recipient}"
        principal = who.recipients[route.recipient]
        out += _grants(principal, holder, "topic", [topic(shared)], READ)
        out += _grants(principal, holder, "group", [groups[shared]], ("Read",))
        # the erasure read receipts: the group's committed offset on the topic (OffsetFetch
        # wants Describe on both; Describe reads no record)
        out += _grants(who.office, "privacy office", "group", [groups[shared]], ("Describe",))
        out += _grants(who.office, "privacy office", "topic", [topic(shared)], ("Describe",))
        # the worker's leader checks the same receipts (broker/erasure_tracker.py)
        out += _grants(who.worker, "worker", "group", [groups[shared]], ("Describe",))
    inputs = [topic(t) for t in topics.INPUT_TOPICS]
    outputs = [topic(t) for t in (*policy.shared_topics(), *WORKER_OUTPUTS)]
    out += _grants(who.worker, "worker", "topic", inputs, READ)
    out += _grants(who.worker, "worker", "topic", outputs, WRITE)
    out += _grants(who.worker, "worker", "group", [settings.app_id], ("Read",))
    # the erasure notices: the worker writes them and its leader reads them back for receipts
    out += _grants(who.worker, "worker", "topic", [topic(topics.ERASURES)], ("Read",))
    internal = (*READ, "Write", "Create")
    out += _grants(who.worker, "worker", "topic", [f"{settings.app_id}-"], internal, "prefixed")
    out += _grants(who.office, "privacy office", "topic", map(topic, OFFICE_TOPICS), READ)
    for producer in who.producers:
        out += _grants(producer, "input producer", "topic", inputs, WRITE)
    return tuple(sorted(set(out)))


def _grants(
    principal: str,
    holder: str,
    resource: str,
    names: Iterable[str],
    operations: Sequence[str],
    pattern: str = "literal",
) -> list[Binding]:
    return [
        Binding(principal, resource, name, pattern, operation, holder=holder)
        for name in names
        for operation in operations
    ]


#: The columns of ``rows`` (and of ``acls --plan``'s table).
COLUMNS: Final = ("principal", "holder", "resource", "name", "pattern", "operations")


def rows(bindings: Sequence[Binding]) -> list[tuple[str, ...]]:
    """One row per principal and resource, its operations together (``COLUMNS``)."""
    grouped: dict[tuple[str, str, str, str, str], list[str]] = {}
    for b in bindings:
        key = (b.principal, b.holder, b.resource, b.name, b.pattern)
        grouped.setdefault(key, []).append(b.operation)
    return [(*key, ", ".join(_ordered(ops))) for key, ops in grouped.items()]


def table(bindings: Sequence[Binding]) -> str:
    """``rows`` as a plain-text table, columns aligned."""
    lines = [COLUMNS, *rows(bindings)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _ordered(operations: Iterable[str]) -> list[str]:
    rank = {op: i for i, op in enumerate(OPERATIONS)}
    return sorted(set(operations), key=lambda op: (rank.get(op, len(rank)), op))


def as_json(bindings: Sequence[Binding]) -> str:
    """The bindings as a JSON list, one object per ACL (what ``kafka-acls.sh`` would add)."""
    return json.dumps([asdict(b) for b in bindings], indent=2) + "\n"
