"""The properties every adversarial stream (``tests.adversarial``) must keep, checked over the
records a runner wrote: the dry run's ``DIR/<topic>.jsonl`` files or the topics a worker fed
(both as ``{"topic", "key", "value", "headers"}`` documents, in each topic's order).

Allowlists come from the policy and the generated output schemas, never from a hand copy.
"""

from __future__ import annotations

import importlib.util
import json
from collections import defaultdict
from datetime import datetime
from functools import cache
from pathlib import Path
from random import Random
from typing import Any

from fastavro.validation import validate as fits_schema

from policy import topics
from policy.compile import CompiledPolicy
from tests.adversarial import IDENTIFYING, NEVER_SHARED, Stream, tags
from wire.store import SchemaStore

Records = dict[str, list[dict[str, Any]]]


@cache
def store() -> SchemaStore:
    return SchemaStore.load()


def read_dir(out: Path) -> Records:
    """Every record of every ``<topic>.jsonl`` file of a dry run's output directory."""
    return {
        path.name.removesuffix(".jsonl"): [
            json.loads(x) for x in path.read_text("utf-8").splitlines()
        ]
        for path in out.glob("*.jsonl")
    }


def _item_keys(schema_name: str) -> set[str]:
    """The keys of an order line in a route's output schema."""
    for spec in store().get(schema_name).parsed["fields"]:
        if spec["name"] == "items":
            branches = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
            for branch in branches:
                if isinstance(branch, dict) and branch.get("type") == "array":
                    return {f["name"] for f in branch["items"]["fields"]}
    return set()


def allowed_tags(compiled: CompiledPolicy) -> dict[str, set[str]]:
    """Per shared topic: the canary tags that may appear on it (fields some route to it keeps
    as they are; the event id where it is not pseudonymised). The raw customer id only where
    the route keeps it, with a reason (docs/contract.md §3: by default every route sends the
    recipient's subject id instead, as the key and in the value)."""
    allowed: dict[str, set[str]] = defaultdict(set)
    plans = {plan.route_id: plan for plan in compiled.all_plans}
    for route in compiled.policy.routes:
        topic = topics.shared_topic(route.recipient, route.purpose)
        plan = plans[f"{route.recipient}/{route.purpose}/{route.source}"]
        if not route.pseudonymised:
            allowed[topic].add("event_id")
        for name, rule in route.fields.items():
            if rule.op != "keep":
                continue
            if name == "items":
                allowed[topic] |= {f"items_{k}" for k in _item_keys(plan.schema)}
            elif name == "answers":
                allowed[topic] |= {"answers_key", "answers_value"}
            else:
                allowed[topic].add(name)
    return allowed


def check_shared(records: Records, compiled: CompiledPolicy) -> None:
    """Values within their route's output schema at every depth; no withheld canary in any
    key, value or header (the raw customer id included, unless the route keeps it); every
    key the record's subject id; every tombstone after a record with its key on the same
    topic."""
    plans = {plan.route_id: plan for plan in compiled.all_plans}
    allowed = allowed_tags(compiled)
    pseudonymised = {p.topic for p in compiled.all_plans if p.pseudonymised}
    for topic in compiled.shared_topics:
        keys_fed: set[str] = set()
        for record in records.get(topic, []):
            found = tags(json.dumps(record))
            assert not found & NEVER_SHARED, (topic, found & NEVER_SHARED)
            if topic in pseudonymised:
                assert not found & IDENTIFYING, (topic, found & IDENTIFYING)
            assert found <= allowed[topic], (topic, found - allowed[topic])
            if record["value"] is None:
                assert record["key"] in keys_fed, ("tombstone for a key never sent", topic)
                keys_fed.discard(record["key"])
                continue
            keys_fed.add(record["key"])
            value = dict(record["value"])
            plan = plans[f"{value['recipient']}/{value['purpose']}/{value['source_topic']}"]
            assert plan.topic == topic
            if plan.subject_key is not None:
                assert record["key"] == value[plan.subject_key], (
                    "key is not the subject id",
                    topic,
                )
            value["event_time"] = datetime.fromisoformat(value["event_time"])
            schema = store().get(plan.schema).parsed
            assert fits_schema(value, schema, strict=True), (topic, sorted(value))


def check_counts(records: Records, stream: Stream, offsets: bool = True) -> None:
    """One audit record per valid line, one DLQ record per invalid one; no canary in the
    DLQ's error texts or headers (the raw bytes hold anything, by design)."""
    audited = [r["value"]["event_id"] for r in records.get(topics.AUDIT, [])]
    want = stream.good_event_ids()
    assert sorted(audited) == sorted(want), (set(audited) ^ set(want), len(audited), len(want))
    dead = records.get(topics.DLQ, [])
    if offsets:
        assert sorted(r["value"]["offset"] for r in dead) == stream.bad_line_numbers()
    assert len(dead) == len(stream.bad_line_numbers())
    for record in dead:
        assert not tags(record["value"]["error"] + json.dumps(record.get("headers"))), record[
            "value"
        ]["error"]


def interleaved(stream: Stream, rng: Random) -> list[tuple[int, bytes]]:
    """The same lines, the five topics merged in another random order (each topic's own
    order kept; line numbers follow the new order)."""
    queues: dict[str, list[bytes]] = defaultdict(list)
    for line in stream.lines:
        queues[json.loads(line.decode("utf-8", "replace"))["topic"]].append(line)
    merged: list[bytes] = []
    while any(queues.values()):
        topic = rng.choice(sorted(t for t, q in queues.items() if q))
        merged.append(queues[topic].pop(0))
    return list(enumerate(merged, start=1))


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


class Oracle:
    """The subject's consents and Section 10 requests, applied in the runner's decision order
    (the audit's order), judged independently of the engine (fail-closed reading of §2)."""

    def __init__(self) -> None:
        self.changes: dict[tuple[str, str], list[tuple[datetime, bool]]] = defaultdict(list)
        self.requests: dict[str, list[tuple[datetime, str]]] = defaultdict(list)

    def apply(self, topic: str, value: dict[str, Any]) -> None:
        at, cid = _time(value["event_time"]), value["customer_id"]
        if topic == topics.CONSENTS:
            self.changes[(cid, value["scope"])].append((at, value["granted"]))
        elif value["identity_verified"]:
            self.requests[cid].append((at, value["kind"]))

    def granted(self, cid: str, scope: str, at: datetime) -> bool:
        """A grant dated at or before ``at`` that no withdrawal dated after it overrides."""
        seen = self.changes[(cid, scope)]
        withdrawn = [t for t, g in seen if not g]
        return any(g and t <= at and not any(w > t for w in withdrawn) for t, g in seen)

    def suspended(self, cid: str, at: datetime) -> bool:
        """A verified suspension not lifted by a verified resumption dated at or before ``at``."""
        seen = self.requests[cid]
        resumed = [t for t, k in seen if k == "resume_use"]
        return any(k == "suspend_use" and not any(s <= r <= at for r in resumed) for s, k in seen)


def check_decisions(records: Records, stream: Stream, compiled: CompiledPolicy) -> None:
    """No consent-needing purpose without a grant in force as of the event's time, nothing
    but the exempt purposes under a verified suspension, nothing abroad without cross_border."""
    policy = compiled.policy
    needs = {p.id for p in policy.purposes if p.needs_consent}
    exempt = set(policy.suspension_exempt)
    abroad = {r.id for r in policy.recipients if r.country != "JP"}
    oracle = Oracle()
    for audit in records.get(topics.AUDIT, []):
        topic, value = stream.values[audit["value"]["event_id"]]
        if topic in (topics.CONSENTS, topics.SUBJECT_REQUESTS):
            oracle.apply(topic, value)
            continue
        cid, at = value["customer_id"], _time(value["event_time"])
        for decision in audit["value"]["decisions"]:
            if decision["outcome"] != "forwarded":
                continue
            purpose, recipient = decision["purpose"], decision["recipient"]
            assert purpose not in needs or oracle.granted(cid, purpose, at), decision
            assert purpose in exempt or not oracle.suspended(cid, at), decision
            assert recipient not in abroad or oracle.granted(cid, "cross_border", at), decision


#: The dry run decides in event-time order once branch ``eventtime`` has landed.
EVENT_TIME_ORDER = importlib.util.find_spec("policy.ordering") is not None
