"""The tie rank of every kind of input at equal event_time (docs/contract.md §2): state changes
first, a withdrawal before a grant, a suspension before a resumption."""

from __future__ import annotations

import pytest

from policy.ordering import EVENT, GRANT, RESUMPTION, SUSPENSION, WITHDRAWAL, tie_rank
from policy.validation import InputEvent

RANKS = [
    # a withdrawal first, then a suspension, a grant, a resumption, then everything else
    ("consents", {"granted": False}, WITHDRAWAL),
    ("subject-requests", {"kind": "suspend_use", "identity_verified": True}, SUSPENSION),
    # an unverified request ranks as its kind (it changes nothing)
    ("subject-requests", {"kind": "suspend_use", "identity_verified": False}, SUSPENSION),
    ("consents", {"granted": True}, GRANT),
    ("subject-requests", {"kind": "resume_use", "identity_verified": True}, RESUMPTION),
    ("orders", {}, EVENT),
    ("inquiries", {}, EVENT),
    ("campaign-entries", {}, EVENT),
]


@pytest.mark.parametrize(("topic", "value", "rank"), RANKS)
def test_when_events_share_an_event_time_then_state_changes_rank_first(
    topic: str, value: dict[str, object], rank: int
) -> None:
    assert tie_rank(InputEvent(topic, dict(value))) == rank
    assert WITHDRAWAL < SUSPENSION < GRANT < RESUMPTION < EVENT
