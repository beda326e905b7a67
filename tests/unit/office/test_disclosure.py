"""The disclosure report, pure: only the subject's records, each provision, block, consent,
request and erasure notice once, in event time; and rendered safely for hostile strings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from office.disclosure.render import render_html, render_json, render_text
from office.disclosure.report import Company, Window, build_report

V = "v1"


def names(version: str, recipient: str) -> Company:
    return Company(recipient, f"{recipient} Co", "JP") if version == V else Company(recipient)


def decision(outcome: str, reason: str, recipient: str = "cargo") -> dict[str, Any]:
    return {"recipient": recipient, "purpose": "fulfilment", "topic": f"shared.{recipient}.f",
            "outcome": outcome, "reason": reason, "fields_sent": ["name"] if outcome ==
            "forwarded" else [], "fields_redacted": [], "cause_event_id": None}  # fmt: skip


def record(event: str, time: str, subject: str = "S1", **extra: Any) -> dict[str, Any]:
    return {"event_id": event, "event_time": time, "source_topic": "orders",
            "customer_id": subject, "purposes": [], "policy_version": V, "decisions": [],
            "state_change": None, "unclassified_fields": [], "tombstone_topics": [],
            "late": False, **extra}  # fmt: skip


ORDER = record("o1", "2026-01-02T00:00:00Z", decisions=[decision("forwarded", "permitted"),
               decision("blocked", "no_consent", "comms")])  # fmt: skip
WITHDRAWAL = record("c1", "2026-01-03T00:00:00Z", source_topic="consents",
                    state_change="consent marketing withdrawn: recorded; withdrawal notices to 1 "
                    "shared topic(s)", tombstone_topics=["shared.comms.marketing"])  # fmt: skip
REJECTED = record("r1", "2026-01-01T00:00:00Z", source_topic="subject-requests",
                  state_change="suspend_use: rejected (identity not verified)")  # fmt: skip
OTHER = record("o2", "2026-01-02T00:00:00Z", subject="S2",
               decisions=[decision("forwarded", "permitted")])  # fmt: skip
WINDOW = Window(datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC))

# (records, window, expected counts: provisions, blocks, consents, requests, erasures)
ROWS = {
    # every kind of entry, sorted by event time whatever the order read
    "all": ([WITHDRAWAL, ORDER, REJECTED], Window(), (1, 1, 1, 1, 1)),
    # another subject's record that got through the reader is dropped
    "other-subject": ([OTHER], Window(), (0, 0, 0, 0, 0)),
    # an event decided twice (replayed after a crash) is reported once
    "replayed": ([ORDER, ORDER], Window(), (1, 1, 0, 0, 0)),
    # the window: from inclusive, to exclusive
    "window": ([WITHDRAWAL, ORDER, REJECTED], WINDOW, (1, 1, 0, 0, 0)),
}  # fmt: skip


@pytest.mark.parametrize(("records", "window", "counts"), ROWS.values(), ids=ROWS.keys())
def test_when_records_are_reported_then_each_entry_once(
    records: list[dict[str, Any]], window: Window, counts: tuple[int, ...]
) -> None:
    report = build_report("S1", records, window, names)
    got = (report.provisions, report.blocks, report.consents, report.requests, report.erasures)
    assert tuple(len(g) for g in got) == counts
    assert "S2" not in render_json(report, "x") and "o2" not in render_text(report, "x")


def test_when_state_events_are_reported_then_their_outcomes_are_read() -> None:
    report = build_report("S1", [WITHDRAWAL, ORDER, REJECTED], Window(), names)
    assert [e.event_id for e in report.requests + report.consents] == ["r1", "c1"]
    assert (report.consents[0].what, report.consents[0].change) == ("marketing", "withdrawn")
    assert report.requests[0].outcome == "rejected"
    [erasure] = report.erasures
    assert (erasure.recipient.id, erasure.purpose, erasure.reason) == (
        "comms",
        "marketing",
        "consent_withdrawn:marketing",
    )


HOSTILE = {
    # markup in an event id and a company name
    "markup": "<script>alert(1)</script>",
    # a terminal escape sequence and a line break
    "terminal": "\x1b[2J\x1b]0;owned\x07\nfake line",
    # bidirectional override and zero-width characters
    "invisible": "\u202eevil\u200b",
}  # fmt: skip


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_when_strings_are_hostile_then_every_form_stays_inert(text: str) -> None:
    order = {**ORDER, "event_id": text}

    def hostile(version: str, recipient: str) -> Company:
        return Company(recipient, text, "JP")

    report = build_report("S1", [order], Window(), hostile)
    plain, page = render_text(report, text), render_html(report, text)
    tame = render_text(build_report("S1", [ORDER], Window(), names), "x")
    assert not any(c in plain for c in "\x1b\x07\u202e\u200b")
    assert len(plain.splitlines()) == len(tame.splitlines())  # no line smuggled in
    assert "<script>" not in page
    assert json.loads(render_json(report, text))["provisions"][0]["event_id"] == text


LATE = {
    # a late grant: nothing was provided retroactively, and the customer is told so
    "grant": ("consent marketing granted: recorded", "nothing was provided retroactively"),
    # a late withdrawal: its notices went; no claim about retroactive provision
    "withdrawal": ("consent marketing withdrawn: recorded", "later events were decided)"),
}  # fmt: skip


@pytest.mark.parametrize(("text", "says"), LATE.values(), ids=LATE.keys())
def test_when_a_consent_change_came_late_then_the_text_says_what_that_means(
    text: str, says: str
) -> None:
    late = record("c9", "2026-01-05T00:00:00Z", source_topic="consents", state_change=text,
                  late=True)  # fmt: skip
    plain = render_text(build_report("S1", [late], Window(), names), "x")
    assert says in plain
