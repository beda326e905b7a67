"""Per-recipient subject ids and the record of provision (docs/contract.md §3 "Subject ids", §4):
every forwarded decision names its basis and the subject id its recipient got, which keys the
recipient's records and tombstones (so a tombstone lands in the partition of what it erases);
the raw customer id leaves only where a route keeps it with a reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from broker.partitions import partition_for
from policy.compile import compile_policy
from policy.engine import apply_state_event, decide
from policy.loader import load_policy
from policy.state import EMPTY, SubjectState, apply_consent
from policy.step import step
from tests.unit.policy.policy_files import route, shipped, write
from tests.unit.policy.samples import (
    T0,
    TEST_KEYS,
    compiled,
    consent,
    entry,
    event,
    everything_granted,
    order,
)


def granted(*scopes: str, event_id: str = "con-7") -> SubjectState:
    state = EMPTY
    for scope in scopes:
        state, _ = apply_consent(state, scope, True, T0, f"{event_id}-{scope}")
    return state


BASES: list[tuple[str, dict[str, Any], SubjectState, str, str, str]] = [
    # a contract: settlement of an order needs no consent
    ("orders", order(), EMPTY, "septem-financial", "fulfilment", "contract"),
    # pseudonymised product development: its own basis, no consent
    ("orders", order(), EMPTY, "enfinity", "product_development", "pseudonymised"),
    # the entrant applied: a gift to the carrier
    ("campaign-entries", entry(kind="gift"), EMPTY, "septem-cargo", "campaign", "application"),
    # consent: the grant in force, by its event id
    (
        "orders", order(), granted("marketing"), "septem-communications", "marketing",
        "consent:con-7-marketing",
    ),
    # abroad: the purpose's consent and the cross_border grant, both by event id
    (
        "orders", order(country="SG", prefecture="Central"), granted("marketing", "cross_border"),
        "affectus", "marketing", "consent:con-7-marketing; cross_border:con-7-cross_border",
    ),
    # abroad under the contract: the cross_border grant still named
    (
        "orders", order(country="AU", prefecture="NSW"), granted("cross_border"),
        "sptm-international", "fulfilment", "contract; cross_border:con-7-cross_border",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("topic", "value", "state", "recipient", "purpose", "basis"), BASES)
def test_when_a_route_forwards_then_the_audit_names_its_basis_and_subject_id(
    topic: str, value: dict[str, Any], state: SubjectState, recipient: str, purpose: str, basis: str
) -> None:
    decision = decide(event(topic, value), state, compiled())
    (audited,) = [
        d for d in decision.audit_record()["decisions"]
        if (d["recipient"], d["purpose"]) == (recipient, purpose)
    ]  # fmt: skip
    assert audited["outcome"] == "forwarded"
    assert audited["basis"] == basis
    assert audited["subject_id"] == TEST_KEYS.pseudonymiser(recipient)(value["customer_id"])
    (output,) = [o for o in decision.outputs if o.recipient == recipient]
    assert output.key == audited["subject_id"]


def test_when_a_route_is_blocked_then_it_names_no_basis_and_no_subject_id() -> None:
    decision = decide(event("orders", order()), EMPTY, compiled())
    blocked = [d for d in decision.audit_record()["decisions"] if d["outcome"] == "blocked"]
    assert blocked
    assert all(d["basis"] is None and d["subject_id"] is None for d in blocked)


# one row per partition count a shared topic may have
@pytest.mark.parametrize("partitions", [1, 3, 12])
def test_when_a_withdrawal_erases_then_each_tombstone_lands_in_its_records_partition(
    partitions: int,
) -> None:
    fed, decided = step(event("orders", order()), everything_granted(), compiled())
    _, withdrawal = apply_state_event(
        event("consents", consent("marketing", False, T0.replace(hour=11))), fed, compiled()
    )
    assert withdrawal.tombstones
    sent = {(o.topic, partition_for(o.key.encode(), partitions)) for o in decided.outputs}
    for tombstone in withdrawal.tombstones:
        assert (tombstone.topic, partition_for(tombstone.key.encode(), partitions)) in sent


def test_when_a_route_keeps_the_customer_id_with_a_reason_then_it_goes_and_the_key_does_not_change(
    tmp_path: Path,
) -> None:
    doc = shipped()
    fields = route(doc, "septem-financial", "fulfilment")["fields"]
    fields["customer_id"] = {"op": "keep", "reason": "settlement reconciles by customer number"}
    policy = load_policy(write(tmp_path, doc))
    decision = decide(event("orders", order()), EMPTY, compile_policy(policy, TEST_KEYS))
    (output,) = [o for o in decision.outputs if o.recipient == "septem-financial"]
    assert output.value["customer_id"] == "cust-1"
    assert "subject_id" not in output.value
    assert output.key == TEST_KEYS.pseudonymiser("septem-financial")("cust-1")


def test_when_the_stored_state_predates_event_ids_then_the_basis_says_unrecorded() -> None:
    # a consent table value written before the state kept event ids (SubjectState.from_json)
    old = '{"consents": {"marketing": {"granted": true, "event_time": "2026-11-24T09:00:00Z"}}}'
    decision = decide(event("orders", order()), SubjectState.from_json(old), compiled())
    (mailing,) = [d for d in decision.decisions if d.recipient == "septem-communications"]
    assert (mailing.outcome, mailing.basis) == ("forwarded", "consent:unrecorded")
