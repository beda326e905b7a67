"""A live stream in wall-clock time with one input family arriving late, and the ground truth of
what may leave: each subject's consent and suspension as of any instant, from the stream itself.

The truth is the contract's (§2): the latest change by event_time wins; a customer with no
ConsentChange for a scope has not consented; a verified suspension stops every purpose but the
exempt ones until a verified resumption.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from broker.clients import producer
from config.settings import Settings
from policy import topics
from policy.compile import CompiledPolicy, RoutePlan
from tests.integration.streams_for_tests import line_order
from wire.jsonl import dumps


def retimed(lines: list[str], start: datetime, step: timedelta) -> list[str]:
    """The stream in decision order, the i-th event at ``start + i * step``."""
    ordered = sorted(lines, key=line_order)
    out = []
    for index, line in enumerate(ordered):
        document = json.loads(line)
        document["value"]["event_time"] = start + index * step
        out.append(dumps(document))
    return out


def produce_live(
    settings: Settings, records: list[Any], lines: list[str], late: tuple[str, ...], delay_s: float
) -> None:
    """Each record at the wall-clock time of its event_time; the ``late`` topics ``delay_s``
    later than that."""
    schedule = []
    for record, line in zip(records, lines, strict=True):
        at = _event_time(json.loads(line)["value"]).timestamp()
        schedule.append((at + (delay_s if record.topic in late else 0.0), record.line, record))
    client = producer(settings)
    try:
        for due, _, record in sorted(schedule, key=lambda item: (item[0], item[1])):
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            client.send(settings.topic(record.topic), key=record.key, value=record.value)
        client.flush(timeout=60)
    finally:
        client.close()


def _event_time(value: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(value["event_time"]).replace("Z", "+00:00")).astimezone(UTC)


@dataclass
class Truth:
    """Every subject's state changes, to ask what held at an instant."""

    consents: dict[str, list[tuple[datetime, str, bool]]] = field(default_factory=dict)
    requests: dict[str, list[tuple[datetime, bool]]] = field(default_factory=dict)
    events: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # id -> (cust, time)

    @classmethod
    def of(cls, lines: list[str]) -> Truth:
        truth = cls()
        for line in lines:
            document = json.loads(line)
            value, topic = document["value"], document["topic"]
            at, customer = _event_time(value), value["customer_id"]
            truth.events[value["event_id"]] = (customer, at)
            if topic == topics.CONSENTS:
                change = (at, value["scope"], bool(value["granted"]))
                truth.consents.setdefault(customer, []).append(change)
            elif topic == topics.SUBJECT_REQUESTS and value["identity_verified"]:
                suspend = value["kind"] == "suspend_use"
                truth.requests.setdefault(customer, []).append((at, suspend))
        return truth

    def granted(self, customer: str, scope: str, at: datetime) -> bool:
        """Consented to ``scope`` as of ``at`` (at equal times a withdrawal wins)."""
        changes = [(t, not g, g) for t, s, g in self.consents.get(customer, []) if s == scope]
        held = [c for c in changes if c[0] <= at]
        return bool(held) and max(held)[2]

    def ever_granted_by(self, customer: str, scope: str, at: datetime) -> bool:
        """A grant of ``scope`` dated ``at`` or before exists (later withdrawn or not)."""
        return any(g and s == scope and t <= at for t, s, g in self.consents.get(customer, []))

    def suspended(self, customer: str, at: datetime) -> bool:
        held = [(t, suspend) for t, suspend in self.requests.get(customer, []) if t <= at]
        return bool(held) and max(held)[1]

    def may_forward(self, plan: RoutePlan, customer: str, at: datetime) -> bool:
        """What the contract allows for this route as of ``at``."""
        if plan.stops_on_suspension and self.suspended(customer, at):
            return False
        if plan.needs_consent and not self.granted(customer, plan.purpose, at):
            return False
        return not (plan.needs_cross_border and not self.granted(customer, "cross_border", at))


def plans_by_topic(compiled: CompiledPolicy) -> dict[str, list[RoutePlan]]:
    plans: dict[str, list[RoutePlan]] = {}
    for plan in compiled.all_plans:
        plans.setdefault(plan.topic, []).append(plan)
    return plans


def subject_of_key(compiled: CompiledPolicy, customers: set[str]) -> dict[tuple[str, str], str]:
    """(shared topic, record key) -> customer id, pseudonymised keys included."""
    return {
        (plan.topic, plan.key(customer)): customer
        for plan in compiled.all_plans
        for customer in customers
    }
