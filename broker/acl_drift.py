"""The drift between the ACL plan (``broker.access``) and the ACLs on the broker. Pure.

- **missing**: a planned binding the broker does not hold;
- **too broad**: a grant not in the plan that reaches a resource of the plan its principal is
  not given that operation on by a wildcard (``*`` name or ``User:*`` principal) or a prefix
  (``shared.septem`` reaches ``shared.septem-cargo.fulfilment``);
- **extra**: any other binding not in the plan that touches the plan's principals or
  resources (a literal grant added by hand, a Deny, a cluster grant to one of them).

Bindings of other applications (other principals, other resources) are none of ours.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from broker.access import Binding

WILDCARD: Final = "*"
WILDCARD_PRINCIPAL: Final = "User:*"
ALL_OPERATIONS: Final = frozenset(
    {"Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction",
     "DescribeConfigs", "AlterConfigs", "IdempotentWrite", "CreateTokens", "DescribeTokens"}
)  # fmt: skip
#: What each operation allows besides itself (Kafka's implied operations).
IMPLIES: Final = {
    "Read": {"Describe"},
    "Write": {"Describe"},
    "Delete": {"Describe"},
    "Alter": {"Describe"},
    "AlterConfigs": {"DescribeConfigs"},
    "All": ALL_OPERATIONS,
}
#: How many reached names a line lists before "and N more".
SHOWN: Final = 3


@dataclass(frozen=True)
class Drift:
    """One difference; ``reaches``: the plan's resources a too broad grant opens."""

    kind: str  # missing | too broad | extra
    binding: Binding
    reaches: tuple[str, ...] = ()

    def line(self) -> str:
        """One readable line, e.g. ``extra: User:a may Read topic shared.b.x``."""
        b = self.binding
        verb = "may not" if b.permission == "Deny" else "may"
        text = f"{self.kind}: {b.principal} {verb} {b.operation} {b.resource} {b.name}"
        if b.pattern == "prefixed":
            text += " (any name with this prefix)"
        if b.host != WILDCARD:
            text += f" from {b.host}"
        if self.reaches:
            more = len(self.reaches) - SHOWN
            text += "; reaches " + ", ".join(self.reaches[:SHOWN])
            text += f" and {more} more" if more > 0 else ""
        return text


def grants(operation: str) -> frozenset[str]:
    """The operations one ACL operation allows.

    >>> sorted(grants("Read"))
    ['Describe', 'Read']
    """
    return frozenset({operation, *IMPLIES.get(operation, ())})


def covers(grant: Binding, resource: str, name: str, pattern: str = "literal") -> bool:
    """Whether ``grant`` applies to every name of (``resource``, ``name``, ``pattern``)."""
    if grant.resource != resource:
        return False
    if grant.name == WILDCARD and grant.pattern == "literal":
        return True
    if grant.pattern == "prefixed":
        return name.startswith(grant.name)
    return pattern == "literal" and grant.name == name


def overlaps(a: Binding, b: Binding) -> bool:
    """Whether some resource name is reached by both ``a`` and ``b``."""
    return covers(a, b.resource, b.name, b.pattern) or covers(b, a.resource, a.name, a.pattern)


def drift(wanted: Sequence[Binding], present: Iterable[Binding]) -> list[Drift]:
    """Missing, too broad and extra bindings, in that order."""
    have = set(present)
    ours = {b.principal for b in wanted} | {WILDCARD_PRINCIPAL}
    missing = [Drift("missing", b) for b in wanted if b not in have]
    found: list[Drift] = []
    for b in sorted(have - set(wanted)):
        cluster_grant = b.resource == "cluster" and b.principal in ours
        if not cluster_grant and not any(overlaps(b, w) for w in wanted):
            continue  # another application's
        reaches = _reached(b, wanted)
        found.append(Drift("too broad", b, reaches) if reaches else Drift("extra", b))
    found.sort(key=lambda d: d.kind != "too broad")
    return missing + found


def _reached(grant: Binding, wanted: Sequence[Binding]) -> tuple[str, ...]:
    """The plan's resources that a broad Allow (wildcard or prefix) opens to more than the
    plan gives its principal; () for a literal grant to one principal."""
    broad = (
        grant.pattern == "prefixed"
        or grant.name == WILDCARD
        or grant.principal == WILDCARD_PRINCIPAL
    )
    if grant.permission != "Allow" or not broad:
        return ()
    reached: dict[str, None] = {}
    for target in wanted:
        if not overlaps(grant, target):
            continue
        given: set[str] = set()
        for w in wanted:
            if w.principal == grant.principal and covers(w, target.resource, target.name):
                given |= grants(w.operation)
        if not grants(grant.operation) <= given:
            reached[target.name] = None
    return tuple(reached)
