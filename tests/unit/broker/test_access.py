"""The ACL plan from the policy (``broker.access``) and its drift against the broker's
ACLs (``broker.acl_drift``): who may do what, and what ``acls --check`` reports."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from broker.access import Binding, plan, table
from broker.acl_drift import drift
from config.settings import Settings
from policy import topics
from policy.loader import load_policy

POLICY = load_policy()
SETTINGS = Settings.model_validate(
    {
        "PURPOSEGATE_TOPIC_PREFIX": "p.",
        "PURPOSEGATE_APP_ID": "pg",
        "PURPOSEGATE_RECIPIENT_PRINCIPALS": '{"septem-cargo": "User:cargo"}',
        "PURPOSEGATE_PRODUCER_PRINCIPALS": '["User:shop"]',
    }
)
PLAN = plan(POLICY, SETTINGS)
CARGO = "User:cargo"
RECIPIENTS = {r.id: f"User:{r.id}" for r in POLICY.recipients} | {"septem-cargo": CARGO}


def may(principal: str, operation: str, resource: str = "topic") -> set[str]:
    """The names (prefixes marked with ``*``) ``principal`` is given ``operation`` on."""
    return {
        b.name + ("*" if b.pattern == "prefixed" else "")
        for b in PLAN
        if b.principal == principal and b.operation == operation and b.resource == resource
    }


def own_topics(recipient: str) -> set[str]:
    return {"p." + t for t in POLICY.shared_topics() if t.startswith(f"shared.{recipient}.")}


INPUTS = {"p." + t for t in topics.INPUT_TOPICS}
OFFICE = {
    "p." + t for t in (topics.AUDIT, topics.DLQ, topics.POLICIES, topics.SHADOW, topics.ERASURES)
}
SHARED = {"p." + t for t in POLICY.shared_topics()}

# (what is claimed, the set computed from the plan, the set it must be)
CLAIMS: list[tuple[str, Callable[[], set[str]], set[str]]] = [
    # a recipient's own shared topics, by its own principal (the override for Cargo)
    *[(f"{r} reads", lambda p=p: may(p, "Read"), own_topics(r)) for r, p in RECIPIENTS.items()],
    # and its declared consumer groups, nothing else
    *[
        (
            f"{r} groups",
            lambda p=p: may(p, "Read", "group"),
            {g for t, g in POLICY.topic_consumer_groups().items() if "p." + t in own_topics(r)},
        )
        for r, p in RECIPIENTS.items()
    ],
    # the worker reads only the inputs, its own internal topics and the erasure notices it
    # wrote (its leader's read receipts), writes the rest
    (
        "worker reads",
        lambda: may("User:purposegate", "Read"),
        INPUTS | {"pg-*", f"p.{topics.ERASURES}"},
    ),
    ("worker writes", lambda: may("User:purposegate", "Write"), SHARED | OFFICE | {"pg-*"}),
    # Faust creates its changelog and leader topics; the pipeline's topics an admin creates
    ("worker creates", lambda: may("User:purposegate", "Create"), {"pg-*"}),
    ("worker's group", lambda: may("User:purposegate", "Read", "group"), {"pg"}),
    ("office reads", lambda: may("User:privacy-office", "Read"), OFFICE),
    # the erasure read receipts: each recipient group's offsets on its topic, no record
    ("office describes", lambda: may("User:privacy-office", "Describe"), OFFICE | SHARED),
    ("office writes nothing", lambda: may("User:privacy-office", "Write"), set()),
    ("producer writes", lambda: may("User:shop", "Write"), INPUTS),
    ("producer reads nothing", lambda: may("User:shop", "Read"), set()),
    # the default principal is not used once overridden
    ("no default", lambda: {b.name for b in PLAN if b.principal == "User:septem-cargo"}, set()),
    # the only prefix: Faust's internal topics (they are named by Faust, app id first)
    ("prefixes", lambda: {b.name for b in PLAN if b.pattern == "prefixed"}, {"pg-"}),
    # every grant is an Allow from any host, with no wildcard name or principal
    ("wildcards", lambda: {b.name for b in PLAN if "*" in b.name + b.principal}, set()),
]  # fmt: skip


@pytest.mark.parametrize(("claim", "computed", "expected"), CLAIMS, ids=[c[0] for c in CLAIMS])
def test_when_the_plan_is_made_then_each_principal_gets_exactly_its_share(
    claim: str, computed: Callable[[], set[str]], expected: set[str]
) -> None:
    assert computed() == expected


def test_when_the_plan_is_printed_then_one_row_per_principal_and_resource() -> None:
    lines = table(PLAN).splitlines()
    assert lines[0].split() == ["principal", "holder", "resource", "name", "pattern", "operations"]
    row = next(
        line for line in lines if "p.shared.septem-cargo.fulfilment" in line and CARGO in line
    )
    assert row.split()[-2:] == ["Read,", "Describe"]


OWN = "p.shared.septem-cargo.fulfilment"
OTHERS = "p.shared.septem-financial.fulfilment"

# (the broker's ACLs besides the plan, the lines `acls --check` prints)
DRIFT_ROWS: list[tuple[list[Binding], list[str]]] = [
    # the broker holds exactly the plan
    ([], []),
    # a Read on another company's topic added by hand
    ([Binding(CARGO, "topic", OTHERS)], [f"extra: {CARGO} may Read topic {OTHERS}"]),
    # a prefix that reaches every company's topics (the 2 of its own are not counted)
    (
        [Binding(CARGO, "topic", "p.shared.", "prefixed")],
        [f"too broad: {CARGO} may Read topic p.shared. (any name with this prefix); reaches "
         "p.shared.affectus.marketing, p.shared.enfinity.product_development, "
         "p.shared.septem-communications.marketing and 4 more"],
    ),
    # a prefix without the dot: shared.septem reaches shared.septem-cargo.* too
    (
        [Binding("User:septem-financial", "topic", "p.shared.septem", "prefixed")],
        ["too broad: User:septem-financial may Read topic p.shared.septem (any name with this "
         "prefix); reaches p.shared.septem-cargo.campaign, p.shared.septem-cargo.fulfilment, "
         "p.shared.septem-communications.marketing and 2 more"],
    ),
    # everyone may read the audit
    (
        [Binding("User:*", "topic", "p.purposegate.audit")],
        ["too broad: User:* may Read topic p.purposegate.audit; reaches p.purposegate.audit"],
    ),
    # a wildcard topic name for the worker: it would read the 9 shared and 4 office topics
    (
        [Binding("User:purposegate", "topic", "*")],
        ["too broad: User:purposegate may Read topic *; reaches p.shared.affectus.marketing, "
         "p.shared.septem-cargo.campaign, p.shared.septem-cargo.fulfilment and 10 more"],
    ),
    # a Deny on the worker's group: not in the plan
    (
        [Binding("User:purposegate", "group", "pg", permission="Deny")],
        ["extra: User:purposegate may not Read group pg"],
    ),
    # a cluster grant to a recipient: creating topics is no recipient's business
    (
        [Binding(CARGO, "cluster", "kafka-cluster", operation="Create")],
        [f"extra: {CARGO} may Create cluster kafka-cluster"],
    ),
    # another application's ACLs are none of ours
    ([Binding("User:billing", "topic", "invoices")], []),
]  # fmt: skip


@pytest.mark.parametrize(("added", "lines"), DRIFT_ROWS)
def test_when_the_broker_holds_grants_beside_the_plan_then_check_names_each(
    added: list[Binding], lines: list[str]
) -> None:
    assert [d.line() for d in drift(PLAN, [*PLAN, *added])] == lines


def test_when_a_planned_grant_is_missing_then_check_names_it() -> None:
    lost = next(b for b in PLAN if b.principal == CARGO and b.operation == "Read")
    found = drift(PLAN, [b for b in PLAN if b != lost])
    assert [d.line() for d in found] == [f"missing: {CARGO} may Read {lost.resource} {lost.name}"]
