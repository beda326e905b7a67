"""What ``purposegate erasures`` and the report say of each notice (``office.erasure_list``):
its state and the dates it rests on, the bound with the broker's own check interval, and a
subject's notices found by the events that sent them (whatever key the recipient got)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from office.disclosure.report import Company
from office.erasure_list import notice_rows, of_events, render, report_states
from policy.erasure import Notice, TopicTerms

T0 = datetime(2026, 11, 1, tzinfo=UTC)
TOPIC = "shared.affectus.marketing"
DAY = timedelta(days=1)
TERMS = {TOPIC: TopicTerms(TOPIC, "affectus", "marketing", "g", 14 * DAY, DAY, 7 * DAY)}
NOTICE = Notice(TOPIC, 0, 4, "opaque-key", "affectus", "marketing", "use_suspended", "e-1", T0)
CHECK = timedelta(seconds=5)


@pytest.mark.parametrize(
    ("notice", "at", "state", "dates"),
    [
        # unread within its time: when it was sent and by when the data is gone
        (NOTICE, T0 + DAY, "pending", ["told 2026-11-01T00:00:00Z",
                                       "gone by 2026-11-16T00:01:05Z"]),
        # unread after 7 days: overdue since then
        (NOTICE, T0 + 8 * DAY, "overdue", ["told 2026-11-01T00:00:00Z",
                                           "overdue since 2026-11-08T00:00:00Z",
                                           "gone by 2026-11-16T00:01:05Z"]),
        # read and seen deleted: both dates
        (replace(NOTICE, read_at=T0 + DAY, gone_at=T0 + 15 * DAY), T0 + 16 * DAY, "gone",
         ["told 2026-11-01T00:00:00Z", "read 2026-11-02T00:00:00Z", "gone 2026-11-16T00:00:00Z"]),
    ],
)  # fmt: skip
def test_when_a_notice_is_listed_then_its_line_names_its_state_and_dates(
    notice: Notice, at: datetime, state: str, dates: list[str]
) -> None:
    (row,) = notice_rows([notice], at, TERMS, CHECK)
    assert row.state == state
    line = render([row], "text").splitlines()[1]
    assert line.startswith(state) and ", ".join(dates) in line, line


def test_when_listed_as_json_then_counts_cover_every_state() -> None:
    rows = notice_rows([NOTICE, replace(NOTICE, key="k2", read_at=T0)], T0 + DAY, TERMS, CHECK)
    document = json.loads(render(rows, "json"))
    assert document["counts"] == {"pending": 1, "read": 1, "overdue": 0, "gone": 0}
    assert {n["subject_key"] for n in document["notices"]} == {"opaque-key", "k2"}


def test_when_a_subject_is_looked_up_then_its_events_find_its_notices_whatever_the_key() -> None:
    other = replace(NOTICE, key="someone-else", event_id="e-2")
    assert of_events([NOTICE, other], {"e-1"}) == [NOTICE]


def test_when_the_report_asks_then_each_notice_names_its_recipient_and_dates() -> None:
    (row,) = notice_rows([NOTICE], T0 + 8 * DAY, TERMS, CHECK)
    (state,) = report_states([row], {"affectus": Company("affectus", "AFFECTUS PTE LTD", "SG")})
    assert (state.recipient.name, state.state, state.read_at) == ("AFFECTUS PTE LTD", "overdue",
                                                                  None)  # fmt: skip
    assert state.overdue_since == "2026-11-08T00:00:00Z"
