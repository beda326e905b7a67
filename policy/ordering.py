"""The order in which events are decided: by ``event_time``, ties broken by the contract's rule.

docs/contract.md §2: at equal ``event_time``, state changes come before other events, a withdrawal
before a grant, a suspension before a resumption. Both runners use this one key: ``dry-run``
sorts a file by it, the worker's merge of the co-partitioned input partitions releases by it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from policy import topics
from policy.validation import InputEvent

#: Tie ranks at equal ``event_time``: lower goes first.
WITHDRAWAL: Final = 0
SUSPENSION: Final = 1
GRANT: Final = 2
RESUMPTION: Final = 3
EVENT: Final = 4

#: The sort key of a valid input event.
Order = tuple[datetime, int]


def tie_rank(event: InputEvent) -> int:
    """Where the event goes among events of the same ``event_time``.

    An unverified request ranks as its kind: it changes nothing, so its place among the
    state changes of the same instant makes no difference to any decision.
    """
    if event.topic == topics.CONSENTS:
        return GRANT if event.value["granted"] else WITHDRAWAL
    if event.topic == topics.SUBJECT_REQUESTS:
        return SUSPENSION if event.value["kind"] == "suspend_use" else RESUMPTION
    return EVENT


def decision_order(event: InputEvent) -> Order:
    """``(event_time, tie rank)``: the order in which events are decided."""
    return (event.event_time, tie_rank(event))
