"""Acks follow delivery, in offset order per input topic-partition; a failure blocks for good."""

from __future__ import annotations

import pytest

from agents.acks import AckTracker
from tests.unit.agents.ack_views import InspectedAckTracker

#: A script: ("track", source, handle, records) | ("ok", handle) | ("fail", handle),
#: and the handles acked after each step.
Step = tuple[str, ...] | tuple[str, str, str, int]

SCRIPTS = [
    # one input, two records: acked after the second delivery
    ([("track", "p0", "a", 2), ("ok", "a"), ("ok", "a")], [[], [], ["a"]]),
    # a later input of the same partition done first waits for the earlier one
    (
        [("track", "p0", "a", 1), ("track", "p0", "b", 1), ("ok", "b"), ("ok", "a")],
        [[], [], [], ["a", "b"]],
    ),
    # other partitions are independent
    (
        [("track", "p0", "a", 1), ("track", "p1", "b", 1), ("ok", "b"), ("ok", "a")],
        [[], [], ["b"], ["a"]],
    ),
    # a failed delivery is never acked, nor anything after it on its partition
    (
        [("track", "p0", "a", 2), ("track", "p0", "b", 1), ("ok", "a"), ("fail", "a"), ("ok", "b")],
        [[], [], [], [], []],
    ),
    # ...while another partition goes on
    (
        [("track", "p0", "a", 1), ("track", "p1", "b", 1), ("fail", "a"), ("ok", "b")],
        [[], [], [], ["b"]],
    ),
    # an input with no records is ackable as soon as it is at the front
    ([("track", "p0", "a", 1), ("track", "p0", "b", 0), ("ok", "a")], [[], [], ["a", "b"]]),
]


@pytest.mark.parametrize(("script", "acked"), SCRIPTS)
def test_when_deliveries_complete_then_inputs_are_acked_in_order(
    script: list[Step], acked: list[list[str]]
) -> None:
    tracker: AckTracker[str] = AckTracker()
    tickets = {}
    seen: list[list[str]] = []
    for step in script:
        if step[0] == "track":
            _, source, handle, records = step
            tickets[handle] = tracker.track(source, handle, int(records))
            seen.append(tracker.ackable(source))
        elif step[0] == "ok":
            seen.append(tracker.delivered(tickets[str(step[1])]))
        else:
            tracker.fail(tickets[str(step[1])])
            seen.append([])
    assert seen == acked


def test_when_a_delivery_failed_then_its_partition_is_reported_blocked() -> None:
    tracker: InspectedAckTracker[str] = InspectedAckTracker()
    ticket = tracker.track("p0", "a", 1)
    tracker.track("p1", "b", 1)
    tracker.fail(ticket)
    assert (tracker.blocked(), tracker.in_flight()) == (["p0"], 2)


def test_when_a_producer_batch_is_delivered_then_each_of_its_records_counts_once() -> None:
    tracker: AckTracker[str] = AckTracker()
    a = tracker.track("p0", "a", 2)  # two records, both in the batch
    b = tracker.track("p0", "b", 2)  # one record in the batch, one still pending
    c = tracker.track("p1", "c", 1)
    assert tracker.delivered_all([a, a, b, c]) == ["a", "c"]
    assert tracker.delivered_all([b]) == ["b"]
