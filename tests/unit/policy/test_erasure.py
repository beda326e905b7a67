"""Erasure you can prove, the pure part (``policy.erasure``): each shared topic's terms and
physical bound from the policy, a notice's state from what the broker said, a receipt only for
its own tombstone, and the counts per recipient and state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from policy.erasure import (
    Notice,
    TopicTerms,
    advanced,
    counts,
    current,
    physical_bound,
    state_of,
    topic_terms,
)
from policy.loader import load_policy
from policy.models import Route, duration
from policy.rules import policy_faults

T0 = datetime(2026, 11, 1, tzinfo=UTC)
TOPIC = "shared.affectus.marketing"
NOTICE = Notice(TOPIC, 2, 10, "k-1", "affectus", "marketing", "use_suspended", "e-1", T0)
WEEK = timedelta(days=7)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20s", timedelta(seconds=20)),  # tests' short times
        ("90min", timedelta(minutes=90)),  # minutes are "min", never "m" (months?)
        ("36h", timedelta(hours=36)),
        ("14d", timedelta(days=14)),  # the shipped retentions
        ("2w", timedelta(days=14)),
        ("1y", timedelta(days=365)),
    ],
)
def test_when_a_duration_is_read_then_it_has_its_length(text: str, expected: timedelta) -> None:
    assert duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "0s",  # nothing is no duration
        "5m",  # ambiguous unit
        "1.5d",  # whole numbers only
        "d",  # no number
    ],
)
def test_when_a_route_declares_a_bad_duration_then_the_policy_refuses_it(text: str) -> None:
    route = load_policy().routes[0].model_dump(by_alias=True)
    with pytest.raises(ValidationError):
        Route.model_validate({**route, "segment_roll": text})


def test_when_the_shipped_policy_is_read_then_every_topic_has_its_terms_and_bound() -> None:
    terms = topic_terms(load_policy())
    assert set(terms) == set(load_policy().shared_topics())
    marketing = terms[TOPIC]
    assert (marketing.consumer_group, marketing.retention) == ("affectus.marketing", 14 * WEEK / 7)
    assert (marketing.segment_roll, marketing.read_within) == (timedelta(days=1), WEEK)
    # 14 days + 1 day roll + 5 min check (Kafka's default) + 1 min file delete delay
    assert physical_bound(marketing) == timedelta(days=15, minutes=6)
    assert physical_bound(marketing, timedelta(seconds=5)) == timedelta(days=15, seconds=65)


@pytest.mark.parametrize(
    ("attribute", "values", "fault"),
    [
        # two segment rolls for one topic (one by default): which one bounds it?
        (
            "segment_roll", ("2d", None),
            "segment_roll differs between routes (2d, default (1d)); one topic rolls its "
            "segments at one age",
        ),
        # two read deadlines for one topic
        (
            "erasure_read_within", ("3d", "5d"),
            "erasure_read_within differs between routes (3d, 5d); one topic's erasure notices "
            "are overdue after one time",
        ),
    ],
)  # fmt: skip
def test_when_routes_of_one_topic_disagree_on_erasure_terms_then_check_policy_names_it(
    attribute: str, values: tuple[str | None, str | None], fault: str
) -> None:
    policy = load_policy()
    given = dict(zip(("orders", "campaign-entries"), values, strict=True))
    routes = tuple(
        r.model_copy(update={attribute: given[r.source]}) if r.recipient == "affectus" else r
        for r in policy.routes
    )
    assert policy_faults(policy.model_copy(update={"routes": routes})) == [
        f"routes to {TOPIC}: {fault}"
    ]


@pytest.mark.parametrize(
    ("notice", "at", "expected"),
    [
        (NOTICE, T0 + WEEK - timedelta(seconds=1), "pending"),  # within its time
        (NOTICE, T0 + WEEK, "overdue"),  # unread at the deadline
        (replace(NOTICE, read_at=T0 + WEEK * 2), T0 + WEEK * 3, "read"),  # late, but read
        (replace(NOTICE, read_at=T0, gone_at=T0), T0, "gone"),  # read and deleted
        (replace(NOTICE, gone_at=T0), T0 + WEEK, "overdue"),  # deleted unread: never confirmed
    ],
)
def test_when_a_notice_is_looked_at_then_its_state_follows(
    notice: Notice, at: datetime, expected: str
) -> None:
    assert state_of(notice, at, WEEK) == expected


WHERE = (TOPIC, 2)


@pytest.mark.parametrize(
    ("notice", "committed", "first", "expected"),
    [
        # the group's next offset is the tombstone's own: not read yet
        (NOTICE, {WHERE: 10}, {}, None),
        # committed past it: read now
        (NOTICE, {WHERE: 11}, {}, replace(NOTICE, read_at=T0 + WEEK)),
        # another partition's offset says nothing of this one
        (NOTICE, {(TOPIC, 1): 99}, {}, None),
        # read and deleted in one look
        (NOTICE, {WHERE: 11}, {WHERE: 11}, replace(NOTICE, read_at=T0 + WEEK, gone_at=T0 + WEEK)),
        # deleted but never read: stays unread (gone needs read)
        (NOTICE, {}, {WHERE: 11}, None),
        # already read: the first time seen read is kept
        (replace(NOTICE, read_at=T0), {WHERE: 50}, {}, None),
    ],
)
def test_when_the_broker_is_asked_then_a_notice_advances_only_on_its_own_partition(
    notice: Notice,
    committed: dict[tuple[str, int], int],
    first: dict[tuple[str, int], int],
    expected: Notice | None,
) -> None:
    assert advanced(notice, committed, first, T0 + WEEK) == expected


@pytest.mark.parametrize(
    ("receipt", "expected"),
    [
        (replace(NOTICE, read_at=T0), replace(NOTICE, read_at=T0)),  # its own receipt counts
        (replace(NOTICE, offset=3, read_at=T0), NOTICE),  # an older tombstone's: the new is unread
        (None, NOTICE),  # no receipt yet
    ],
)
def test_when_a_notice_and_a_receipt_meet_then_the_receipt_counts_for_its_tombstone_only(
    receipt: Notice | None, expected: Notice
) -> None:
    assert current(NOTICE, receipt) == expected


def test_when_notices_are_counted_then_every_recipient_and_state_has_a_count() -> None:
    terms = {TOPIC: TopicTerms(TOPIC, "affectus", "marketing", "g", WEEK, WEEK, WEEK)}
    found = counts([NOTICE, replace(NOTICE, key="k-2", read_at=T0)], T0 + WEEK, terms)
    assert found == {
        ("affectus", "pending"): 0, ("affectus", "read"): 1,
        ("affectus", "overdue"): 1, ("affectus", "gone"): 0,
    }  # fmt: skip
