"""What ``purposegate erasures`` and the subject's report say about erasure notices. Pure.

One :class:`NoticeRow` per notice (the latest per shared topic and subject key, as
``purposegate.erasures`` keeps them): its state now (``policy.erasure.state_of``), when it was
sent, first seen read, became overdue, was seen gone from the broker, and by when its data must
be gone (sent + the topic's physical bound with the broker's real retention check interval).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from office.disclosure.report import Company, ErasureState
from policy.erasure import (
    DEFAULT_READ_WITHIN,
    STATES,
    Notice,
    State,
    TopicTerms,
    physical_bound,
    state_of,
)


@dataclass(frozen=True)
class NoticeRow:
    """One notice as people see it."""

    notice: Notice
    state: State
    #: When it became (or becomes) overdue if unread.
    overdue_at: datetime
    #: When the subject's records before it are gone from the broker at the latest (None: the
    #: topic is no longer in the policy, its bound unknown).
    gone_by: datetime | None


def notice_rows(
    notices: Iterable[Notice],
    now: datetime,
    terms: Mapping[str, TopicTerms],
    check_interval: timedelta,
) -> list[NoticeRow]:
    """Every notice with its state at ``now``, by recipient, topic and time sent."""
    rows = []
    for notice in notices:
        found = terms.get(notice.topic)
        within = found.read_within if found else DEFAULT_READ_WITHIN
        bound = physical_bound(found, check_interval) if found else None
        rows.append(
            NoticeRow(
                notice,
                state_of(notice, now, within),
                notice.told_at + within,
                None if bound is None else notice.told_at + bound,
            )
        )
    return sorted(rows, key=lambda r: (r.notice.recipient, r.notice.topic, r.notice.told_at))


def of_events(notices: Iterable[Notice], event_ids: Iterable[str]) -> list[Notice]:
    """The notices sent by the given input events (a subject's withdrawals and suspensions, from
    its audit records): whatever key each recipient got for the subject."""
    wanted = set(event_ids)
    return [n for n in notices if n.event_id in wanted]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def row_dict(row: NoticeRow) -> dict[str, Any]:
    """A row as JSON: where the notice went, its state and its dates."""
    n = row.notice
    return {
        "recipient": n.recipient,
        "purpose": n.purpose,
        "topic": n.topic,
        "partition": n.partition,
        "offset": n.offset,
        "subject_key": n.key,
        "reason": n.reason,
        "event_id": n.event_id,
        "state": row.state,
        "told_at": _iso(n.told_at),
        "read_at": _iso(n.read_at),
        "overdue_at": _iso(row.overdue_at) if row.state == "overdue" else None,
        "gone_at": _iso(n.gone_at),
        "gone_by": _iso(row.gone_by),
    }


def row_text(row: NoticeRow) -> str:
    """A row in one line: state, recipient, where, and the dates that state rests on."""
    n = row.notice
    dates = [f"told {_iso(n.told_at)}"]
    if n.read_at is not None:
        dates.append(f"read {_iso(n.read_at)}")
    if row.state == "overdue":
        dates.append(f"overdue since {_iso(row.overdue_at)}")
    if n.gone_at is not None:
        dates.append(f"gone {_iso(n.gone_at)}")
    elif row.gone_by is not None:
        dates.append(f"gone by {_iso(row.gone_by)}")
    return (
        f"{row.state:<8} {n.recipient:<22} {n.topic}[{n.partition}]@{n.offset}  "
        f"{', '.join(dates)}  ({n.reason}, event {n.event_id})"
    )


def render(rows: list[NoticeRow], fmt: str) -> str:
    """``text``: a count per state then one line per notice; ``json``: counts and notices."""
    tally = {state: sum(1 for r in rows if r.state == state) for state in STATES}
    if fmt == "json":
        document = {"counts": tally, "notices": [row_dict(r) for r in rows]}
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    head = ", ".join(f"{count} {state}" for state, count in tally.items())
    return "\n".join([f"{len(rows)} erasure notice(s): {head}", *map(row_text, rows)]) + "\n"


def report_states(rows: Iterable[NoticeRow], named: Mapping[str, Company]) -> list[ErasureState]:
    """The subject report's view of its notices (``named``: each recipient as the report names
    it; an unnamed one by its id)."""
    return [
        ErasureState(
            named.get(r.notice.recipient, Company(r.notice.recipient)),
            r.notice.purpose,
            r.notice.event_id,
            r.state,
            str(_iso(r.notice.told_at)),
            _iso(r.notice.read_at),
            _iso(r.overdue_at) if r.state == "overdue" else None,
            _iso(r.notice.gone_at),
            _iso(r.gone_by),
        )
        for r in rows
    ]
