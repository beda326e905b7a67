"""The consent table forgets a subject whose state no longer matters (``policy.forgetting``),
and never lets a late grant older than what it forgot open consent (fail closed)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

import pytest

from policy.decision import Decision
from policy.forgetting import forgettable, raised
from policy.state import EMPTY, Consent, SubjectState
from policy.step import step
from tests.unit.policy.samples import T0 as NOW_ISH
from tests.unit.policy.samples import compiled, consent, event, inquiry, order, request

DAY = timedelta(days=1)
HORIZON = compiled().forget_after  # 30 days in the shipped policy
T0 = NOW_ISH - 3 * 365 * DAY  # every row lies before the test clock
MAIL_TOPIC = "shared.septem-communications.marketing"
CARGO_TOPIC = "shared.septem-cargo.fulfilment"  # no withdrawal or suspension ever notifies it


def subject(
    consents: dict[str, tuple[bool, datetime]],
    fed: Iterable[str] = (),
    suspension: datetime | None = None,
) -> SubjectState:
    return SubjectState(
        MappingProxyType({s: Consent(g, t, f"con-{s}") for s, (g, t) in consents.items()}),
        suspended=False,
        suspension_time=suspension,
        fed_topics=frozenset(fed),
    )


LATER = T0 + HORIZON + DAY
FORGETTABLE = [
    # every consent withdrawn, older than the horizon, no topic owed: forgotten
    (subject({"marketing": (False, T0)}), LATER, True),
    # ... also when the only topics that hold the key are never notified (fulfilment in JP)
    (subject({"marketing": (False, T0)}, fed=[CARGO_TOPIC]), LATER, True),
    # a withdrawal younger than the horizon: kept (a late grant may still be in flight)
    (subject({"marketing": (False, T0)}), T0 + HORIZON - DAY, False),
    # a marketing topic still holds the key: a later withdrawal owes it a tombstone
    (subject({"marketing": (False, T0)}, fed=[MAIL_TOPIC]), LATER, False),
    # a grant in force: kept
    (subject({"marketing": (True, T0)}), LATER, False),
    # a grant expired (2 years) and older than the horizon: forgotten
    (subject({"marketing": (True, T0)}), T0 + 730 * DAY + HORIZON, True),
    # a cross_border grant never expires: kept
    (subject({"cross_border": (True, T0)}), T0 + 3000 * DAY, False),
    # a Section 10 history (resumed or not) is kept: late events of the suspension stay blocked
    (subject({"marketing": (False, T0)}, suspension=T0), LATER, False),
    # nothing at all: nothing to forget
    (EMPTY, LATER, False),
]


@pytest.mark.parametrize(("state", "at", "expected"), FORGETTABLE)
def test_when_a_state_is_weighed_then_only_a_state_that_no_longer_matters_is_forgettable(
    state: SubjectState, at: datetime, expected: bool
) -> None:
    assert forgettable(state, at, compiled()) is expected


def run(stream: list[tuple[str, dict[str, Any]]], forget: bool = True) -> list[Decision]:
    """A runner as ``dry-run`` is one, in the given order (``forget=False``: a runner that never
    passes a horizon nor deletes a state, i.e. without the guard)."""
    states: dict[str, SubjectState] = {}
    horizon: datetime | None = None
    decisions: list[Decision] = []
    for topic, value in stream:
        state = states.get(value["customer_id"], EMPTY)
        new_state, decision = step(event(topic, value), state, compiled(), None, horizon)
        if forget and decision.forgotten is not None:
            horizon = raised(horizon, decision.forgotten)
        states[value["customer_id"]] = new_state
        decisions.append(decision)
    return decisions


def marketing(decision: Decision) -> str:
    (route,) = [d for d in decision.decisions if d.recipient == "septem-communications"]
    return route.reason


W = T0 + 10 * DAY  # the withdrawal the subject is forgotten with
FORGOTTEN = [
    ("consents", consent("marketing", True, T0)),
    ("consents", consent("marketing", False, W, event_id="con-withdrawn")),
    # a question (no route, no topic fed): the subject is forgotten after it; an order would
    # feed product development topics, which a later suspension would owe a tombstone
    ("inquiries", inquiry(event_time=W + HORIZON + DAY, kind="question")),
]


def test_when_a_subject_is_forgotten_then_step_returns_the_empty_state_and_the_time() -> None:
    state = EMPTY
    for topic, value in FORGOTTEN[:2]:
        state, _ = step(event(topic, value), state, compiled())
    new_state, decision = step(event(*FORGOTTEN[2]), state, compiled())
    assert (new_state is EMPTY, decision.forgotten) == (True, W)
    assert decision.audit_record()["decisions"] == []


LATE_GRANT = ("consents", consent("marketing", True, W - DAY, event_id="con-late"))
AFTER = ("orders", order(event_time=W + HORIZON + 2 * DAY, event_id="ord-after"))
LATE_CASES = [
    # the late grant (dated before the forgotten withdrawal) is refused; the order stays blocked
    (True, "consent marketing granted: refused (dated before the forgetting horizon: older "
           "than state already forgotten)", "no_consent"),
    # without the horizon the late grant would become the latest change and open consent: the
    # reason the horizon exists
    (False, "consent marketing granted: recorded", "permitted"),
]  # fmt: skip


@pytest.mark.parametrize(("guarded", "grant_text", "order_reason"), LATE_CASES)
def test_when_a_grant_older_than_a_forgotten_withdrawal_arrives_then_it_opens_nothing(
    guarded: bool, grant_text: str, order_reason: str
) -> None:
    decisions = run([*FORGOTTEN, LATE_GRANT, AFTER], forget=guarded)
    assert decisions[2].forgotten == W
    assert decisions[3].audit_record()["state_change"] == grant_text
    assert marketing(decisions[4]) == order_reason


def test_when_grants_come_in_event_time_order_then_the_horizon_refuses_none() -> None:
    # another subject's fresh grant after the forgetting: the horizon lies a horizon behind it
    fresh = ("consents", consent("marketing", True, W + HORIZON + DAY, customer_id="C-2"))
    later = ("orders", order(event_time=W + HORIZON + 2 * DAY, customer_id="C-2"))
    decisions = run([*FORGOTTEN, fresh, later])
    assert decisions[3].audit_record()["state_change"] == "consent marketing granted: recorded"
    assert marketing(decisions[4]) == "permitted"


def test_when_a_late_withdrawal_or_suspension_arrives_after_forgetting_then_it_still_counts() -> (
    None
):
    late = [
        ("consents", consent("marketing", False, W - DAY, event_id="con-late-withdrawal")),
        ("subject-requests", request("suspend_use", True, W - DAY)),
    ]
    decisions = run([*FORGOTTEN, *late])
    assert [d.state_change.outcome for d in decisions[3:] if d.state_change] == [
        "recorded",
        "recorded",
    ]


def test_when_the_horizon_is_raised_then_it_is_the_next_midnight_and_never_lowered() -> None:
    noon = datetime.fromisoformat("2026-01-02T12:00:00+00:00")
    assert raised(None, noon) == datetime.fromisoformat("2026-01-03T00:00:00+00:00")
    assert raised(noon + 5 * DAY, noon) == noon + 5 * DAY
